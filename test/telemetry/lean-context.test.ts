// LeanContext (src/telemetry/lean-context.ts), the Context every traced request runs in. What a
// user would notice if it broke: a span parented to the wrong span, a caller's trace id or baggage
// lost, tracing not suppressed where the gateway suppresses it (its own export requests).
import t from 'tap'
import { createContextKey, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api'
import { isTracingSuppressed, suppressTracing, W3CTraceContextPropagator } from '@opentelemetry/core'
import { LEAN_ROOT } from '../../src/telemetry/lean-context.ts'

t.test('reads as the API’s own context after any sequence of sets and deletes, deep chains included', async (t) => {
  const keys = Array.from({ length: 6 }, (_, i) => createContextKey(`lean-test-${i}`))
  let seed = 7
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  let lean: Context = LEAN_ROOT
  let api: Context = ROOT_CONTEXT
  const history: Array<[Context, Context]> = []
  for (let step = 0; step < 400; step++) {
    const key = keys[Math.floor(random() * keys.length)]!
    if (random() < 0.25) {
      lean = lean.deleteValue(key)
      api = api.deleteValue(key)
    } else {
      const value = random() < 0.1 ? undefined : { step }
      lean = lean.setValue(key, value)
      api = api.setValue(key, value)
    }
    history.push([lean, api])
    // Now and then branch from an earlier context, as a request's children do.
    if (random() < 0.05) [lean, api] = history[Math.floor(random() * history.length)]!
  }
  let mismatches = 0
  for (const [l, a] of history) for (const key of keys) if (l.getValue(key) !== a.getValue(key)) mismatches++
  t.equal(mismatches, 0, '400 contexts (chains past the flattening depth) × 6 keys read the same')
  t.equal(LEAN_ROOT.getValue(keys[0]!), undefined, 'the root is never changed by what derives from it')
})

t.test('spans, a caller’s trace context and suppression work through it', async (t) => {
  const callerTrace = '0af7651916cd43dd8448eb211c80319c'
  const extracted = new W3CTraceContextPropagator().extract(LEAN_ROOT, { traceparent: `00-${callerTrace}-b7ad6b7169203331-01` }, { get: (c, k) => (c as Record<string, string>)[k], keys: (c) => Object.keys(c as object) })
  t.equal(trace.getSpanContext(extracted)?.traceId, callerTrace, 'the caller’s trace id is read back')
  const span = trace.wrapSpanContext({ traceId: callerTrace, spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED })
  const within = trace.setSpan(extracted, span)
  t.equal(trace.getSpan(within), span, 'the active span is the one set last')
  t.equal(trace.getSpan(trace.deleteSpan(within)), undefined, 'deleteSpan (a root span) hides it')
  t.equal(trace.getSpan(within), span, 'and leaves the context it came from as it was')
  t.ok(isTracingSuppressed(suppressTracing(within)), 'suppression is seen')
  t.notOk(isTracingSuppressed(within))
  const baggage = propagation.createBaggage({ tenant: { value: 'acme' } })
  t.equal(propagation.getBaggage(propagation.setBaggage(within, baggage))?.getEntry('tenant')?.value, 'acme')
})
