// GET /v1/routes: the route groups of GATEWAY_CONFIG as they stand — each group's strategy and
// limits, and each target's weight and health (its circuit breaker: closed, open while cooling
// down, half-open when the next call probes it), so an operator sees why calls go where they go.
import type { FastifyInstance } from 'fastify'
import type { ModelRouter } from '../core/router.ts'

const HEALTH = { closed: 'healthy', open: 'cooling_down', half_open: 'probing' } as const

export function routeGroupsRoute(app: FastifyInstance, router: ModelRouter): void {
  app.get('/v1/routes', async () => ({
    object: 'list',
    data: router.routeGroups().map((group) => {
      const { config } = group
      return {
        id: group.name,
        object: 'route',
        strategy: config.strategy,
        max_attempts: group.maxAttempts,
        retries: config.retries,
        timeout_ms: config.timeoutMs ?? null,
        first_byte_timeout_ms: config.firstByteTimeoutMs ?? null,
        cooldown: { failures: config.cooldown.failures, window_ms: config.cooldown.windowMs, cooldown_ms: config.cooldown.cooldownMs },
        cache: config.cache ? { ttl_seconds: config.cache.ttlSeconds } : null,
        targets: group.status().map((target) => ({
          provider: target.provider,
          model: target.model,
          weight: target.weight,
          context_fallback: target.contextFallback,
          health: HEALTH[target.state],
          state: target.state,
          recent_failures: target.recentFailures,
          cooldown_until: target.cooldownUntil === undefined ? null : new Date(target.cooldownUntil).toISOString(),
        })),
      }
    }),
  }))
}
