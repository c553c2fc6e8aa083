// The response cache's store when REDIS_URL is set, so that every replica answers from one cache.
// Built on ioredis (see the README's dependency notes). The cache must never fail or hold up a
// call, whatever Redis does: the connection fails fast, gives up on a hung server after 250 ms,
// reconnects by itself and logs an outage once (src/core/redis-client.ts; measured against
// Debian's redis-server in test/cache/redis-*.test.ts). A lookup that fails is a miss. Redis' own
// error replies (e.g. OOM on a full instance) are no outage: the response cache logs them at
// debug level.
import type { FastifyBaseLogger } from 'fastify'
import { FailFastRedis } from '../redis-client.ts'
import type { CacheStore } from './response-cache.ts'

const KEY_PREFIX = 'sik-llms-gateway:cache:v1:'

const OUTAGE = {
  down: 'response cache: Redis is unreachable or not answering; every lookup is a miss until it is back',
  back: 'response cache: Redis is reachable again',
}

export class RedisStore implements CacheStore {
  readonly kind = 'redis'
  private readonly redis: FailFastRedis

  /** `scrub` takes secrets out of error text before it is logged (the URL's password is one). */
  constructor(url: string, logger: Pick<FastifyBaseLogger, 'warn' | 'info'>, scrub?: (text: string) => string) {
    this.redis = new FailFastRedis(url, OUTAGE, logger, scrub, { keyPrefix: KEY_PREFIX })
  }

  /**
   * Connected, or CONNECT_TIMEOUT_MS gone by: awaited at start-up, since until the connection is
   * ready every command fails at once (a first answer's save was lost).
   */
  ready(): Promise<void> {
    return this.redis.ready()
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.command((client) => client.get(key))) ?? undefined
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.command((client) => client.set(key, value, 'EX', ttlSeconds))
  }

  /** The last saves land (bounded by the command timeout); shutdown never waits on Redis longer. */
  close(): Promise<void> {
    return this.redis.close()
  }
}
