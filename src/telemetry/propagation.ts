// What the gateway reads from its callers' trace headers, and what it passes on to the providers
// and tool servers it calls (third parties, not part of the caller's system).
//
// In: `traceparent` and `tracestate` (W3C Trace Context), so the gateway's spans join the
// caller's trace and keep its trace state; `baggage` (W3C Baggage), available in the context.
// Out: `traceparent` only. The caller's `tracestate` is vendor data meant for its own tracing
// system, and its `baggage` may carry anything (user ids, tenant names); neither is sent on to
// OpenAI, Anthropic or an MCP server. An operator who wants otherwise sets OTEL_PROPAGATORS.
import { trace, TraceFlags, type Context, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api'
import { isTracingSuppressed, TRACE_PARENT_HEADER, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core'
import { isValidSpanContext } from './id-pool.ts'

export class CallerContextPropagator implements TextMapPropagator {
  private readonly traceContext = new W3CTraceContextPropagator()
  private readonly baggage = new W3CBaggagePropagator()

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    return this.baggage.extract(this.traceContext.extract(context, carrier, getter), carrier, getter)
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    // The W3C propagator's checks and traceparent, written here: that propagator also writes the
    // context's tracestate, which is not passed on. The gateway's own span contexts are valid by
    // construction (id-pool.ts): the API's check, two regular expressions, is for others'.
    const spanContext = trace.getSpanContext(context)
    if (!spanContext || isTracingSuppressed(context) || !isValidSpanContext(spanContext)) return
    setter.set(carrier, TRACE_PARENT_HEADER, `00-${spanContext.traceId}-${spanContext.spanId}-0${Number(spanContext.traceFlags || TraceFlags.NONE).toString(16)}`)
  }

  fields(): string[] {
    return [TRACE_PARENT_HEADER]
  }
}
