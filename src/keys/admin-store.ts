// Where the admin API keeps the keys it creates: in memory by default (one process), in Redis
// when REDIS_URL is set (redis-keys.ts), so that every replica knows them. Either way the store
// keeps the key ring in step: a key created or revoked is found (or refused) by the next request.
import type { KeyRing } from './keyring.ts'
import type { KeyRecord } from './record.ts'

export interface AdminKeyStore {
  readonly kind: 'memory' | 'redis'
  /** Throws when the store cannot be reached (the admin API answers 503). */
  create(record: KeyRecord): Promise<void>
  list(): Promise<KeyRecord[]>
  get(id: string): Promise<KeyRecord | undefined>
  /** The key revoked (kept, so that its secret is answered `revoked_api_key`); undefined: no such key. */
  revoke(id: string): Promise<KeyRecord | undefined>
  close(): Promise<void>
}

export class MemoryKeyStore implements AdminKeyStore {
  readonly kind = 'memory'
  readonly #records = new Map<string, KeyRecord>()
  readonly #keyring: KeyRing

  constructor(keyring: KeyRing) {
    this.#keyring = keyring
  }

  async create(record: KeyRecord): Promise<void> {
    this.#records.set(record.id, record)
    this.#keyring.putAdmin(record)
  }

  async list(): Promise<KeyRecord[]> {
    return [...this.#records.values()]
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    return this.#records.get(id)
  }

  async revoke(id: string): Promise<KeyRecord | undefined> {
    const record = this.#records.get(id)
    if (!record) return undefined
    const revoked = { ...record, revoked: true }
    this.#records.set(id, revoked)
    this.#keyring.putAdmin(revoked)
    return revoked
  }

  async close(): Promise<void> {}
}
