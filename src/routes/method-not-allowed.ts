// A known path asked with the wrong method (`GET /v1/chat/completions`) is a 405 naming the
// methods it takes in `allow` (RFC 9110 §15.5.6), not a 404 that says the path does not exist.
import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../errors.ts'

interface KnownRoute {
  pattern: RegExp
  methods: Set<string>
}

/** `/v1/traces/:id` → /^\/v1\/traces\/[^/]+$/, `/v1/models/*` → /^\/v1\/models\/.*$/ */
function patternOf(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('')
  return new RegExp(`^${source}$`)
}

/**
 * Records every route as it is added (call before adding routes) and returns the check the
 * not-found handler makes: throws the 405 when some other method serves `path`.
 */
export function trackRouteMethods(app: FastifyInstance): (method: string, path: string) => void {
  const routes = new Map<string, KnownRoute>()
  app.addHook('onRoute', (route) => {
    const known = routes.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set<string>() }
    for (const method of [route.method].flat()) known.methods.add(method)
    routes.set(route.url, known)
  })
  return (method, path) => {
    const allowed = new Set<string>()
    for (const route of routes.values()) if (route.pattern.test(path)) for (const m of route.methods) allowed.add(m)
    if (allowed.size === 0 || allowed.has(method)) return
    const allow = [...allowed].join(', ')
    throw new GatewayError('method_not_allowed', `${method} is not allowed on ${path}; use ${allow}.`, {
      code: 'method_not_allowed',
      headers: { allow },
    })
  }
}
