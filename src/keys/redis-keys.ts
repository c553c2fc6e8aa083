// The admin API's keys in Redis (REDIS_URL), so that every replica knows them:
// - a hash of records by id and a hash from digest to id (never the secret); created and revoked
//   in one MULTI, then announced on a channel, which every replica's subscriber applies to its
//   key ring at once; a subscriber (re)connecting reads every record, so nothing missed while it
//   was away stays missed;
// - the authenticator asks `byId` on every request of an admin key (a revoke on another replica
//   is refused by the very next request, even before its announcement arrives), and `byDigest`
//   for a key this process does not know (created on another replica a moment ago).
// Like the response cache's store (src/core/cache/redis-store.ts), it fails fast and never queues:
// commands fail at once while Redis is down and give up after 250 ms when it hangs; the outage is
// logged once when it begins and once when it ends. What a request gets meanwhile is src/auth.ts's
// decision: a key this process knows keeps working as last known, an unknown one is refused (503).
import { Redis, ReplyError } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { AdminKeyStore } from './admin-store.ts'
import type { KeyRing, RemoteKeys } from './keyring.ts'
import type { KeyRecord } from './record.ts'

const PREFIX = 'sik-llms-gateway:keys:v1:'
const RECORDS = `${PREFIX}records`
const DIGESTS = `${PREFIX}digests`
const CHANNEL = `${PREFIX}changed`
const COMMAND_TIMEOUT_MS = 250
const SOCKET_TIMEOUT_MS = 1_000
const CONNECT_TIMEOUT_MS = 2_000
const MAX_RECONNECT_DELAY_MS = 2_000

export class RedisKeyStore implements AdminKeyStore, RemoteKeys {
  readonly kind = 'redis'
  readonly #client: Redis
  readonly #subscriber: Redis
  readonly #keyring: KeyRing
  readonly #logger: Pick<FastifyBaseLogger, 'warn' | 'info'>
  readonly #scrub: (text: string) => string
  #down = false
  #closing = false

  constructor(url: string, keyring: KeyRing, logger: Pick<FastifyBaseLogger, 'warn' | 'info'>, scrub: (text: string) => string) {
    this.#keyring = keyring
    this.#logger = logger
    this.#scrub = scrub
    const options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
    }
    this.#client = new Redis(url, options)
    this.#client.on('error', (error: Error) => this.#outage(error))
    this.#client.on('ready', () => this.#recovered())
    // A subscribed connection runs no other command; its SUBSCRIBE is sent again on reconnection.
    this.#subscriber = new Redis(url, { ...options, enableOfflineQueue: true, commandTimeout: undefined })
    this.#subscriber.on('error', (error: Error) => this.#outage(error))
    this.#subscriber.on('ready', () => void this.#loadAll())
    this.#subscriber.on('message', (_channel: string, id: string) => void this.#refresh(id))
    void this.#subscriber.subscribe(CHANNEL).catch(() => {})
  }

  async create(record: KeyRecord): Promise<void> {
    await this.#command(() => this.#client.multi().hset(RECORDS, record.id, JSON.stringify(record)).hset(DIGESTS, record.digest, record.id).publish(CHANNEL, record.id).exec())
    this.#keyring.putAdmin(record)
  }

  async list(): Promise<KeyRecord[]> {
    const all = await this.#command(() => this.#client.hgetall(RECORDS))
    return Object.values(all).map((json) => JSON.parse(json) as KeyRecord)
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    return this.byId(id)
  }

  async revoke(id: string): Promise<KeyRecord | undefined> {
    const record = await this.byId(id)
    if (!record) return undefined
    const revoked = { ...record, revoked: true }
    await this.#command(() => this.#client.multi().hset(RECORDS, id, JSON.stringify(revoked)).publish(CHANNEL, id).exec())
    this.#keyring.putAdmin(revoked)
    return revoked
  }

  async byId(id: string): Promise<KeyRecord | undefined> {
    const json = await this.#command(() => this.#client.hget(RECORDS, id))
    return json === null ? undefined : (JSON.parse(json) as KeyRecord)
  }

  async byDigest(digest: string): Promise<KeyRecord | undefined> {
    const id = await this.#command(() => this.#client.hget(DIGESTS, digest))
    return id === null ? undefined : this.byId(id)
  }

  async close(): Promise<void> {
    this.#closing = true
    this.#subscriber.disconnect()
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => {})
    this.#client.disconnect()
  }

  /** Every record, into the key ring: at start and after each reconnection (announcements missed meanwhile). */
  async #loadAll(): Promise<void> {
    try {
      for (const record of await this.list()) this.#keyring.putAdmin(record)
    } catch {
      // Logged as an outage; the next reconnection loads again.
    }
  }

  async #refresh(id: string): Promise<void> {
    try {
      const record = await this.byId(id)
      if (record) this.#keyring.putAdmin(record)
    } catch {
      // Logged as an outage; each request of an admin key asks Redis itself anyway.
    }
  }

  async #command<T>(run: () => Promise<T>): Promise<T> {
    try {
      const result = await run()
      this.#recovered()
      return result
    } catch (error) {
      if (error instanceof ReplyError) this.#recovered()
      else this.#outage(error as Error)
      throw error
    }
  }

  #outage(error: Error): void {
    if (this.#down || this.#closing) return
    this.#down = true
    this.#logger.warn(
      { err: { message: this.#scrub(String(error?.message)) } },
      "keys: Redis is unreachable or not answering; keys this replica knows keep working as last known, keys it does not know are refused (503) and the admin API answers 503 until it is back",
    )
  }

  #recovered(): void {
    if (!this.#down || this.#closing) return
    this.#down = false
    this.#logger.info('keys: Redis is reachable again')
  }
}
