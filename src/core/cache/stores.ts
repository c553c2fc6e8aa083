// Which store the response cache uses: Redis when REDIS_CACHE_URL or REDIS_URL is set (replicas
// share it), else memory bounded by `cache.maxBytes`. The Redis client is loaded only when used.
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.ts'
import { SecretScrubber } from '../../scrub.ts'
import { MemoryStore } from './memory-store.ts'
import { ResponseCache, type CacheStore } from './response-cache.ts'

/** The cache, or undefined when neither a route group nor the global setting turns it on. */
export async function createResponseCache(config: Config, logger: FastifyBaseLogger): Promise<ResponseCache | undefined> {
  const used = config.cache.ttlSeconds !== undefined || Object.values(config.routes).some((group) => group.cache)
  if (!used) return undefined
  // Store errors are logged; REDIS_URL's password is among the secrets kept out of them.
  const scrubber = new SecretScrubber(config.secrets)
  const scrub = (text: string) => scrubber.scrub(text)
  let store: CacheStore
  if (config.cacheRedisUrl) {
    const { RedisStore } = await import('./redis-store.ts')
    const redis = new RedisStore(config.cacheRedisUrl, logger, scrub)
    // As the keys' and the limits' connections are: a first answer must not find it still being made.
    await redis.ready()
    store = redis
  } else {
    store = new MemoryStore(config.cache.maxBytes)
  }
  return new ResponseCache(store, config.cache, (error, operation) => {
    logger.debug({ err: { message: scrub(String((error as Error)?.message)) }, operation }, 'response cache: store error (answered as a miss)')
  })
}
