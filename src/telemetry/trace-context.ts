// The trace ids every answer carries (SPEC §1 "Trace context in and out").
import { isSpanContextValid, trace } from '@opentelemetry/api'
import type { TraceIds } from './llm-call.ts'

/** Ids of the active span (the HTTP SERVER span in a request), when there is a real one. */
export function activeTraceIds(): TraceIds | undefined {
  const context = trace.getActiveSpan()?.spanContext()
  if (!context || !isSpanContextValid(context)) return undefined
  return {
    trace_id: context.traceId,
    span_id: context.spanId,
    flags: context.traceFlags.toString(16).padStart(2, '0'),
  }
}

export function traceHeaders(ids: TraceIds): Record<string, string> {
  return {
    'x-trace-id': ids.trace_id,
    'x-span-id': ids.span_id,
    traceresponse: `00-${ids.trace_id}-${ids.span_id}-${ids.flags}`,
  }
}
