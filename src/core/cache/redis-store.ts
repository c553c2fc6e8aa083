// The response cache's store when REDIS_URL is set, so that every replica answers from one cache.
// Built on ioredis (see the README's dependency notes). The cache must never fail or hold up a
// call: commands are not queued while the connection is down (they fail at once), each gives up
// after COMMAND_TIMEOUT_MS, and the client reconnects in the background. An outage is logged once
// when it begins and once when it ends, however many lookups missed in between.
import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { CacheStore } from './response-cache.ts'

const KEY_PREFIX = 'sik-llms-gateway:cache:v1:'
const COMMAND_TIMEOUT_MS = 250
const CONNECT_TIMEOUT_MS = 2_000

export class RedisStore implements CacheStore {
  readonly kind = 'redis'
  private readonly client: Redis
  private down = false

  constructor(url: string, logger: Pick<FastifyBaseLogger, 'warn' | 'info'>) {
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Reconnect for ever, at most every 2 s: the cache comes back when Redis does.
      retryStrategy: (times) => Math.min(times * 100, 2_000),
      keyPrefix: KEY_PREFIX,
    })
    this.client.on('error', (error: Error) => {
      if (this.down) return
      this.down = true
      logger.warn({ err: { message: error.message } }, 'response cache: Redis is unreachable; every lookup is a miss until it is back')
    })
    this.client.on('ready', () => {
      if (!this.down) return
      this.down = false
      logger.info('response cache: Redis is reachable again')
    })
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(key)) ?? undefined
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.client.set(key, value, 'EX', ttlSeconds)
  }

  async close(): Promise<void> {
    this.client.disconnect()
  }
}
