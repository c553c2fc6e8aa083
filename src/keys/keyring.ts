// Every named key the gateway knows right now, found by the SHA-256 of a presented key: the keys
// file's (replaced whole on each good reload) and the admin API's (kept in step with the admin
// store). Read synchronously on every request; the digest's hex finds the candidate, and
// timingSafeEqual on the digests confirms it.
import { timingSafeEqual } from 'node:crypto'
import type { KeysFile } from './file.ts'
import type { Principal } from './principal.ts'
import { principalOf, type KeyRecord, type TeamSettings } from './record.ts'

export interface FoundKey {
  record: KeyRecord
  principal: Principal
  /** `file`: GATEWAY_KEYS_FILE. `admin`: created through the admin API. */
  source: 'file' | 'admin'
}

/**
 * The admin store's answer for keys this process does not hold (yet): Redis, shared by every
 * replica. Each method throws when the store cannot be reached.
 */
export interface RemoteKeys {
  /** The key with this digest (hex), revoked or not; undefined: no such key. */
  byDigest(digest: string): Promise<KeyRecord | undefined>
  /** The key as the store has it now (revoked on another replica a moment ago?). */
  byId(id: string): Promise<KeyRecord | undefined>
}

export class KeyRing {
  #file = new Map<string, FoundKey>()
  #admin = new Map<string, FoundKey>()
  #teams: Record<string, TeamSettings> = {}
  /** Set when the admin store is shared (Redis): keys created or revoked by other replicas. */
  remote: RemoteKeys | undefined

  constructor(file?: KeysFile) {
    if (file) this.setFile(file)
  }

  /** The keys file as last read well: replaces every key it had. */
  setFile(file: KeysFile): void {
    this.#teams = file.teams
    this.#file = new Map(file.keys.map((record) => [record.digest, { record, principal: principalOf(record, file.teams), source: 'file' as const }]))
    // The teams' budgets may have changed for the admin API's keys too.
    for (const [digest, found] of this.#admin) this.#admin.set(digest, { ...found, principal: principalOf(found.record, this.#teams) })
  }

  /** A key of the admin store, new or changed (revoked). */
  putAdmin(record: KeyRecord): FoundKey {
    const found = { record, principal: principalOf(record, this.#teams), source: 'admin' as const }
    this.#admin.set(record.digest, found)
    return found
  }

  /** The key whose secret has this digest, revoked or not. */
  find(digest: Buffer): FoundKey | undefined {
    const hex = digest.toString('hex')
    const found = this.#file.get(hex) ?? this.#admin.get(hex)
    return found && timingSafeEqual(Buffer.from(found.record.digest, 'hex'), digest) ? found : undefined
  }

  /** The keys file's keys (the admin API lists them beside its own; they are changed in the file). */
  fileKeys(): KeyRecord[] {
    return [...this.#file.values()].map((found) => found.record)
  }

  /** Who a key is, as the limits and budgets know it (the admin API's spend). */
  principalOf(record: KeyRecord): Principal {
    return principalOf(record, this.#teams)
  }

  /** How many keys of each source are live (not revoked), for the start-up line. */
  counts(): { file: number; admin: number } {
    const live = (map: Map<string, FoundKey>) => [...map.values()].filter((found) => !found.record.revoked).length
    return { file: live(this.#file), admin: live(this.#admin) }
  }
}
