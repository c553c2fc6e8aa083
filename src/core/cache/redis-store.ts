// The response cache's store when REDIS_URL is set, so that every replica answers from one cache.
// Built on ioredis (see the README's dependency notes). The cache must never fail or hold up a
// call, whatever Redis does (measured against Debian's redis-server in test/cache/redis-*.test.ts):
// - down (refused, stopped, wrong password): commands are not queued while the connection is not
//   ready, they fail at once (enableOfflineQueue false, no retries per request), and the client
//   reconnects in the background for ever, so the cache comes back when Redis does;
// - hung (connected, answering nothing: SIGSTOP, a swapped-out host): each command gives up after
//   COMMAND_TIMEOUT_MS; and once nothing has come back for SOCKET_TIMEOUT_MS while commands wait,
//   the socket is dropped and reconnected, so later commands fail at once instead of each waiting
//   out its timeout (and unanswered commands stop piling up in memory).
// An outage is logged once when it begins (the first connection error, or a command that timed out
// or found no connection) and once when it ends (ready again, or a command answered), however many
// lookups missed in between. Redis' own error replies (e.g. OOM on a full instance) are no outage:
// the response cache logs them at debug level.
import { Redis, ReplyError } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { CacheStore } from './response-cache.ts'

const KEY_PREFIX = 'sik-llms-gateway:cache:v1:'
const COMMAND_TIMEOUT_MS = 250
const SOCKET_TIMEOUT_MS = 1_000
const CONNECT_TIMEOUT_MS = 2_000
/** Longest wait between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000

export class RedisStore implements CacheStore {
  readonly kind = 'redis'
  private readonly client: Redis
  private readonly logger: Pick<FastifyBaseLogger, 'warn' | 'info'>
  private readonly scrub: (text: string) => string
  private down = false
  private closing = false

  /** `scrub` takes secrets out of error text before it is logged (the URL's password is one). */
  constructor(url: string, logger: Pick<FastifyBaseLogger, 'warn' | 'info'>, scrub: (text: string) => string = (text) => text) {
    this.logger = logger
    this.scrub = scrub
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
      keyPrefix: KEY_PREFIX,
    })
    // ioredis emits 'error' for every failed (re)connection; with a listener it never throws.
    this.client.on('error', (error: Error) => this.outage(error))
    this.client.on('ready', () => this.recovered())
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.command(() => this.client.get(key))) ?? undefined
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.command(() => this.client.set(key, value, 'EX', ttlSeconds))
  }

  /**
   * Lets the last saves land (QUIT is answered after them), bounded by the command timeout, then
   * drops the connection and stops reconnecting: shutdown never waits on Redis longer than that.
   */
  async close(): Promise<void> {
    this.closing = true
    if (this.client.status === 'ready') await this.client.quit().catch(() => {})
    this.client.disconnect()
  }

  private async command<T>(run: () => Promise<T>): Promise<T> {
    try {
      const result = await run()
      this.recovered()
      return result
    } catch (error) {
      // An error reply is an answer: Redis is there.
      if (error instanceof ReplyError) this.recovered()
      else this.outage(error as Error)
      throw error
    }
  }

  private outage(error: Error): void {
    if (this.down || this.closing) return
    this.down = true
    this.logger.warn(
      { err: { message: this.scrub(String(error?.message)) } },
      'response cache: Redis is unreachable or not answering; every lookup is a miss until it is back',
    )
  }

  private recovered(): void {
    if (!this.down || this.closing) return
    this.down = false
    this.logger.info('response cache: Redis is reachable again')
  }
}
