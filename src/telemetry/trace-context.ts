// The trace ids every answer carries (SPEC §1 "Trace context in and out").
// With telemetry off (OTEL_SDK_DISABLED=true) spans have the all-zero invalid context: there is
// no trace to point at, so no ids are returned rather than zeros that are not valid W3C ids.
import { trace, TraceFlags, type Context, type Span } from '@opentelemetry/api'
import { isValidSpanContext } from './id-pool.ts'

export interface TraceIds {
  trace_id: string
  span_id: string
  /** W3C trace flags as two hex digits. */
  flags: string
}

/** The ids of `span`, or undefined when it is no real span (telemetry off). */
export function idsOf(span: Span | undefined): TraceIds | undefined {
  const context = span?.spanContext()
  if (!context || !isValidSpanContext(context)) return undefined
  return {
    trace_id: context.traceId,
    span_id: context.spanId,
    flags: context.traceFlags === TraceFlags.SAMPLED ? '01' : context.traceFlags.toString(16).padStart(2, '0'),
  }
}

/** Ids of the span of `within` (a request's context: its HTTP SERVER span), when there is a real one. */
export function traceIdsIn(within: Context): TraceIds | undefined {
  return idsOf(trace.getSpan(within))
}

/** `trace_context` of a JSON answer, an error body or a stream's final chunk. */
export function traceContextBody(ids: TraceIds | undefined): { trace_id: string; span_id: string } | null {
  return ids ? { trace_id: ids.trace_id, span_id: ids.span_id } : null
}

export function traceHeaders(ids: TraceIds | undefined): Record<string, string> {
  if (!ids) return {}
  return {
    'x-trace-id': ids.trace_id,
    'x-span-id': ids.span_id,
    traceresponse: `00-${ids.trace_id}-${ids.span_id}-${ids.flags}`,
  }
}
