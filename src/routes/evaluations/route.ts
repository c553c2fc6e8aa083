// POST /v1/evaluations: scores for a generation, posted whenever they are known — minutes or days
// after it — by a caller that runs no OpenTelemetry of its own. Each evaluation becomes an
// `evaluation <name>` span linked to the generation's trace and span, plus metrics. The ids may
// name a trace this gateway no longer holds (or never did): linking across time is the point.
// A batch is checked whole before anything is recorded, so a 400 records nothing.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../../errors.ts'
import { recordEvaluation } from '../../telemetry/evaluation.ts'
import { requestContext } from '../../telemetry/server-span.ts'
import type { TelemetryMode } from '../../telemetry/setup.ts'
import { traceContextBody } from '../../telemetry/trace-context.ts'
import { checkEvaluation, evaluationsBodySchema, type CheckedEvaluation, type EvaluationBody } from './schema.ts'

function answerFor(evaluation: CheckedEvaluation, id: string, ids: ReturnType<typeof recordEvaluation>) {
  return {
    object: 'evaluation',
    id,
    name: evaluation.name,
    target: { trace_id: evaluation.traceId, span_id: evaluation.spanId },
    trace_context: traceContextBody(ids),
  }
}

export function evaluationsRoute(app: FastifyInstance, telemetryMode: TelemetryMode): void {
  app.post<{ Body: EvaluationBody | EvaluationBody[] }>(
    '/v1/evaluations',
    { schema: { body: evaluationsBodySchema } },
    async (request) => {
      const body = request.body
      const batch = Array.isArray(body)
      const checked = batch ? body.map((item, i) => checkEvaluation(item, `[${i}].`)) : [checkEvaluation(body, '')]
      if (telemetryMode === 'disabled') {
        throw new GatewayError(
          'unavailable',
          'Telemetry is off (OTEL_SDK_DISABLED=true): an evaluation is recorded as a span and metrics, so there is nowhere to record it.',
          { code: 'telemetry_disabled' },
        )
      }
      const recorded = checked.map((evaluation) => {
        const id = `eval_${randomBytes(12).toString('hex')}`
        const ids = recordEvaluation({
          id,
          name: evaluation.name,
          target: { traceId: evaluation.traceId, spanId: evaluation.spanId },
          scores: evaluation.scores,
          label: evaluation.label,
          comment: evaluation.comment,
          linkAttributes: evaluation.attributes,
        }, requestContext(request.raw))
        return { ids, answer: answerFor(evaluation, id, ids) }
      })
      // x-span-id and the top-level trace_context name the (first) evaluation span.
      request.traceIds = recorded[0]?.ids ?? request.traceIds
      const answers = recorded.map((r) => r.answer)
      const first = answers[0]!
      return batch ? { object: 'list', data: answers, trace_context: first.trace_context } : first
    },
  )
}
