// Liveness, readiness, the Prometheus scrape endpoint (no spans, see telemetry/setup.ts) and `/`.
// /health and /ready need no key; /metrics needs one when GATEWAY_API_KEYS is set (src/auth.ts).
import type { FastifyInstance } from 'fastify'
import type { Telemetry } from '../telemetry/setup.ts'
import { GatewayError } from '../errors.ts'

export function opsRoutes(app: FastifyInstance, telemetry: Telemetry, isDraining: () => boolean, options: { traceStore: boolean }): void {
  app.get('/health', async () => ({ status: 'ok' }))

  app.get('/ready', async (_request, reply) => {
    if (isDraining()) return reply.code(503).send({ status: 'draining' })
    return { status: 'ready' }
  })

  // A browser pointed at the gateway lands on the recent traces; without them, on what there is.
  const tracesPage = options.traceStore && telemetry.mode === 'zero-config'
  const index = {
    name: 'sik-llms-gateway',
    endpoints: ['POST /v1/chat/completions', 'GET /v1/models', 'POST /v1/agents/reasoning', 'POST /v1/evaluations', 'GET /health', 'GET /ready', 'GET /metrics'],
    traces: 'off: the trace store is disabled (TRACE_STORE_MAX_TRACES=0) or an operator-preloaded TracerProvider is in charge',
  }
  app.get('/', async (_request, reply) => (tracesPage ? reply.redirect('/traces', 302) : index))

  app.get('/metrics', async (request, reply) => {
    const prometheus = telemetry.prometheus
    if (!prometheus) {
      throw new GatewayError(
        'not_found',
        telemetry.mode === 'disabled'
          ? 'Metrics are off: OTEL_SDK_DISABLED=true.'
          : 'Metrics go to the MeterProvider preloaded by the operator; scrape it through its own exporter.',
      )
    }
    reply.hijack()
    prometheus.getMetricsRequestHandler(request.raw, reply.raw)
  })
}
