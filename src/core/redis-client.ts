// A Redis connection that never holds a call up, for every part of the gateway that keeps state in
// Redis (REDIS_URL): the response cache, the admin API's keys, limits and budgets. Measured against
// Debian's redis-server in test/cache/redis-*.test.ts and test/limits/*.test.ts:
// - down (refused, stopped, wrong password): commands are not queued while the connection is not
//   ready, they fail at once (no offline queue, no retries per request), and the client reconnects
//   in the background for ever, so the feature comes back when Redis does;
// - hung (connected, answering nothing): each command gives up after COMMAND_TIMEOUT_MS; once
//   nothing has come back for SOCKET_TIMEOUT_MS while commands wait, the socket is dropped and
//   reconnected, so later commands fail at once instead of each waiting out its timeout.
// An outage is logged once when it begins (the first connection error, or a command that timed out
// or found no connection) and once when it ends (ready again, or a command answered). Redis' own
// error replies (a full instance's OOM, say) are answers, not an outage.
import { Redis, ReplyError, type RedisOptions } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'

export const COMMAND_TIMEOUT_MS = 250
const SOCKET_TIMEOUT_MS = 1_000
export const CONNECT_TIMEOUT_MS = 2_000
/** Longest wait between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000

export const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: COMMAND_TIMEOUT_MS,
  socketTimeout: SOCKET_TIMEOUT_MS,
  connectTimeout: CONNECT_TIMEOUT_MS,
  retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
}

export interface OutageMessages {
  /** Logged (warn) once when an outage begins: what stops working meanwhile. */
  down: string
  /** Logged (info) once when it ends. */
  back: string
}

export class FailFastRedis {
  readonly client: Redis
  private readonly logger: Pick<FastifyBaseLogger, 'warn' | 'info'>
  private readonly scrub: (text: string) => string
  private readonly messages: OutageMessages
  private down = false
  private closing = false

  /** `scrub` takes secrets out of error text before it is logged (the URL's password is one). */
  constructor(
    url: string,
    messages: OutageMessages,
    logger: Pick<FastifyBaseLogger, 'warn' | 'info'>,
    scrub: (text: string) => string = (text) => text,
    options: Pick<RedisOptions, 'keyPrefix'> = {},
  ) {
    this.logger = logger
    this.scrub = scrub
    this.messages = messages
    this.client = new Redis(url, { ...FAIL_FAST, ...options })
    // ioredis emits 'error' for every failed (re)connection; with a listener it never throws.
    this.client.on('error', (error: Error) => this.outage(error))
    this.client.on('ready', () => this.recovered())
  }

  /**
   * Connected, or CONNECT_TIMEOUT_MS gone by (the outage is then on; the client keeps trying).
   * Awaited at start-up where a first command must not find the connection still being made.
   */
  ready(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.client.off('ready', done)
        resolve()
      }
      const timer = setTimeout(done, CONNECT_TIMEOUT_MS)
      this.client.once('ready', done)
    })
  }

  /** Runs a command, noting an outage (or its end) from how it went; its error is thrown on. */
  async command<T>(run: (client: Redis) => Promise<T>): Promise<T> {
    try {
      const result = await run(this.client)
      this.recovered()
      return result
    } catch (error) {
      // An error reply is an answer: Redis is there.
      if (error instanceof ReplyError) this.recovered()
      else this.outage(error as Error)
      throw error
    }
  }

  /**
   * Lets the last writes land (QUIT is answered after them), bounded by the command timeout, then
   * drops the connection and stops reconnecting: shutdown never waits on Redis longer than that.
   */
  async close(): Promise<void> {
    this.closing = true
    if (this.client.status === 'ready') await this.client.quit().catch(() => {})
    this.client.disconnect()
  }

  private outage(error: Error): void {
    if (this.down || this.closing) return
    this.down = true
    this.logger.warn({ err: { message: this.scrub(String(error?.message)) } }, this.messages.down)
  }

  private recovered(): void {
    if (!this.down || this.closing) return
    this.down = false
    this.logger.info(this.messages.back)
  }
}
