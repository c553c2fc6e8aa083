// Liveness, readiness and the Prometheus scrape endpoint: no auth, no spans (see telemetry/setup.ts).
import type { FastifyInstance } from 'fastify'
import type { Telemetry } from '../telemetry/setup.ts'
import { GatewayError } from '../errors.ts'

export function opsRoutes(app: FastifyInstance, telemetry: Telemetry, isDraining: () => boolean): void {
  app.get('/health', async () => ({ status: 'ok' }))

  app.get('/ready', async (_request, reply) => {
    if (isDraining()) return reply.code(503).send({ status: 'draining' })
    return { status: 'ready' }
  })

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
