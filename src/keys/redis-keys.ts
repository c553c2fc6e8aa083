// The admin API's keys in Redis (REDIS_URL), so that every replica knows them:
// - a hash of records by id and a hash from digest to id (never the secret); created and revoked
//   in one MULTI, then announced on a channel, which every replica's subscriber applies to its
//   key ring at once; a subscriber (re)connecting reads every record, so nothing missed while it
//   was away stays missed;
// - the authenticator asks `byId` on every request of an admin key (a revoke on another replica
//   is refused by the very next request, even before its announcement arrives), and `byDigest`
//   for a key this process does not know (created on another replica a moment ago).
// Its connection is the gateway's fail-fast one (src/core/redis-client.ts): commands fail at once
// while Redis is down and give up after 250 ms when it hangs; the outage is logged once when it
// begins and once when it ends. What a request gets meanwhile is src/auth.ts's decision: a key this
// process knows keeps working as last known, an unknown one is refused (503).
import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { FAIL_FAST, FailFastRedis } from '../core/redis-client.ts'
import type { AdminKeyStore } from './admin-store.ts'
import type { KeyRing, RemoteKeys } from './keyring.ts'
import type { KeyRecord } from './record.ts'

const PREFIX = 'sik-llms-gateway:keys:v1:'
const RECORDS = `${PREFIX}records`
const DIGESTS = `${PREFIX}digests`
const CHANNEL = `${PREFIX}changed`

export class RedisKeyStore implements AdminKeyStore, RemoteKeys {
  readonly kind = 'redis'
  readonly #redis: FailFastRedis
  readonly #subscriber: Redis
  readonly #keyring: KeyRing

  constructor(url: string, keyring: KeyRing, logger: Pick<FastifyBaseLogger, 'warn' | 'info'>, scrub: (text: string) => string) {
    this.#keyring = keyring
    const messages = {
      down: 'keys: Redis is unreachable or not answering; keys this replica knows keep working as last known, keys it does not know are refused (503) and the admin API answers 503 until it is back',
      back: 'keys: Redis is reachable again',
    }
    this.#redis = new FailFastRedis(url, messages, logger, scrub)
    // A subscribed connection runs no other command: SUBSCRIBE waits for the connection (it is
    // sent again on each reconnection); its errors are the command connection's outage too.
    this.#subscriber = new Redis(url, { ...FAIL_FAST, enableOfflineQueue: true, commandTimeout: undefined })
    this.#subscriber.on('error', () => {})
    // Each (re)connection reads every record: announcements missed meanwhile are not missed for good.
    this.#redis.client.on('ready', () => void this.#loadAll())
    this.#subscriber.on('ready', () => void this.#loadAll())
    this.#subscriber.on('message', (_channel: string, id: string) => void this.#refresh(id))
    void this.#subscriber.subscribe(CHANNEL).catch(() => {})
  }

  async create(record: KeyRecord): Promise<void> {
    await this.#redis.command((client) => client.multi().hset(RECORDS, record.id, JSON.stringify(record)).hset(DIGESTS, record.digest, record.id).publish(CHANNEL, record.id).exec())
    this.#keyring.putAdmin(record)
  }

  async list(): Promise<KeyRecord[]> {
    const all = await this.#redis.command((client) => client.hgetall(RECORDS))
    return Object.values(all).map((json) => JSON.parse(json) as KeyRecord)
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    return this.byId(id)
  }

  async revoke(id: string): Promise<KeyRecord | undefined> {
    const record = await this.byId(id)
    if (!record) return undefined
    const revoked = { ...record, revoked: true }
    await this.#redis.command((client) => client.multi().hset(RECORDS, id, JSON.stringify(revoked)).publish(CHANNEL, id).exec())
    this.#keyring.putAdmin(revoked)
    return revoked
  }

  async byId(id: string): Promise<KeyRecord | undefined> {
    const json = await this.#redis.command((client) => client.hget(RECORDS, id))
    return json === null ? undefined : (JSON.parse(json) as KeyRecord)
  }

  async byDigest(digest: string): Promise<KeyRecord | undefined> {
    const id = await this.#redis.command((client) => client.hget(DIGESTS, digest))
    return id === null ? undefined : this.byId(id)
  }

  /** Connected, or the connection timeout gone by: a first request must not find it still being made. */
  ready(): Promise<void> {
    return this.#redis.ready()
  }

  async close(): Promise<void> {
    this.#subscriber.disconnect()
    await this.#redis.close()
  }

  /** Every record, into the key ring: at start and after each reconnection (announcements missed meanwhile). */
  async #loadAll(): Promise<void> {
    if (this.#redis.client.status !== 'ready') return
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
}
