// Which store limits and budgets count in: Redis when REDIS_URL is set (every replica shares one
// count), else this process' memory. The Redis client is loaded only when it is used.
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.ts'
import { SecretScrubber } from '../scrub.ts'
import { Limits } from './limits.ts'
import type { ModelNames } from './models.ts'
import { MemoryLimitStore, type LimitStore } from './store.ts'

/** `names`: a model's names (models.ts), so a per-model limit holds however the model is spelled. */
export async function createLimits(config: Config, logger: FastifyBaseLogger, names?: ModelNames): Promise<Limits> {
  let store: LimitStore
  if (config.redisUrl) {
    const { RedisLimitStore } = await import('./redis-store.ts')
    // Outages are logged; REDIS_URL's password is among the secrets kept out of them.
    const scrubber = new SecretScrubber(config.secrets)
    const redis = new RedisLimitStore(config.redisUrl, logger, (text) => scrubber.scrub(text))
    await redis.ready()
    store = redis
  } else {
    store = new MemoryLimitStore()
  }
  return new Limits(store, config.limitsOnRedisError, Date.now, names)
}
