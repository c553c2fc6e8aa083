// The gateway records its own spans with its own tracer (src/telemetry/gateway-tracer.ts) instead
// of the SDK's, for speed. What reaches the exporter and the trace store must be what the SDK's
// tracer would have made of the same calls: the same attributes under the same limits, status,
// events, links, parent, sampling and dropped counts. Each scenario runs the same script against
// both tracers and compares the ended spans field by field.
import t from 'tap'
import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type Span, type Tracer } from '@opentelemetry/api'
import { addHrTimes, millisToHrTime, suppressTracing } from '@opentelemetry/core'
import { TracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { GatewayTracer } from '../../src/telemetry/gateway-tracer.ts'
import { AttributePairs, plusMillis } from '../../src/telemetry/span-values.ts'
import { samplerFromEnv, spanLimitsFromEnv } from '../../src/telemetry/tracing-config.ts'

function recorder(): SpanProcessor & { ended: ReadableSpan[]; started: number } {
  return {
    ended: [],
    started: 0,
    onStart() { this.started++ },
    onEnd(span) { this.ended.push(span) },
    forceFlush: async () => {},
    shutdown: async () => {},
  }
}

function tracers(env: Record<string, string> = {}) {
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    const resource = resourceFromAttributes({ 'service.name': 'equivalence' })
    const sampler = samplerFromEnv(env)
    const limits = spanLimitsFromEnv()
    const sdkRecorder = recorder()
    const ownRecorder = recorder()
    const sdk = new TracerProvider({ resource, sampler, spanLimits: limits, spanProcessors: [sdkRecorder] }).getTracer('sik-llms-gateway')
    const own = new GatewayTracer({ sampler, limits, resource, scope: { name: 'sik-llms-gateway' }, processors: [ownRecorder] })
    return { sdk, own, sdkRecorder, ownRecorder }
  } finally {
    process.env = saved
  }
}

/** What an exporter reads of a span, minus ids and times (random and clock-bound in both). */
function shape(span: ReadableSpan) {
  return {
    name: span.name,
    kind: span.kind,
    status: span.status,
    attributes: span.attributes,
    events: span.events.map(({ name, attributes, droppedAttributesCount }) => ({ name, attributes, droppedAttributesCount: droppedAttributesCount ?? 0 })),
    links: span.links.map(({ context: linked, attributes, droppedAttributesCount }) => ({ spanId: linked.spanId, attributes, droppedAttributesCount: droppedAttributesCount ?? 0 })),
    parentSpanId: span.parentSpanContext?.spanId,
    traceFlags: span.spanContext().traceFlags,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
    ended: span.ended,
    scope: span.instrumentationScope.name,
    service: span.resource.attributes['service.name'],
  }
}

const PARENT = trace.setSpanContext(context.active(), {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
})
const LINKED = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED }

/** A request's worth of calls, including the odd ones (undefined values, invalid values, status rules). */
function script(tracer: Tracer): Span {
  const span = tracer.startSpan(
    'llm.request',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'llm.model': 'gpt-4o-mini', 'llm.messages.count': 3, 'llm.streaming': false, skipped: undefined, tags: ['a', 'b'] },
      links: [{ context: LINKED, attributes: { 'link.kind': 'evaluated', n: 1 } }],
    },
    PARENT,
  )
  span.setAttribute('llm.tokens.input', 10)
  span.setAttributes({ 'llm.tokens.output': 20, 'llm.model': 'gpt-4o', nothing: undefined })
  span.setAttribute('', 'empty key')
  span.setAttribute('bad', { nested: true } as never)
  span.addEvent('llm.target.skipped', { 'llm.provider': 'p', reason: 'cooling_down' })
  span.setStatus({ code: SpanStatusCode.UNSET })
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream said 503' })
  span.updateName('llm.request.renamed')
  span.end()
  span.setAttribute('after.end', true)
  return span
}

t.test('a request-like script: the same span from both tracers', async (t) => {
  const { sdk, own, sdkRecorder, ownRecorder } = tracers({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' })
  script(sdk)
  script(own)
  t.equal(ownRecorder.started, 1, 'the processors saw the start')
  t.equal(ownRecorder.ended.length, 1, 'and the end, once')
  t.same(shape(ownRecorder.ended[0]!), shape(sdkRecorder.ended[0]!))
  t.equal(ownRecorder.ended[0]!.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c', "the caller's trace is joined")
  t.ok(ownRecorder.ended[0]!.parentSpanContext?.isRemote, 'the remote parent is kept as such')
  const [start, end, duration] = [ownRecorder.ended[0]!.startTime, ownRecorder.ended[0]!.endTime, ownRecorder.ended[0]!.duration]
  t.ok(Math.abs(start[0] - Date.now() / 1000) < 60, 'start time is wall-clock time')
  t.ok(end[0] > start[0] || (end[0] === start[0] && end[1] >= start[1]), 'end is not before start')
  t.ok(duration[0] === 0 && duration[1] >= 0, 'the duration is the time between')
})

t.test('span limits from the environment apply alike', async (t) => {
  const env = { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '4', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '5', OTEL_SPAN_EVENT_COUNT_LIMIT: '1', OTEL_SPAN_LINK_COUNT_LIMIT: '0' }
  const { sdk, own, sdkRecorder, ownRecorder } = tracers(env)
  for (const tracer of [sdk, own]) {
    script(tracer)
    const span = tracer.startSpan('long', { attributes: { a: 'abcdefgh', b: ['abcdefgh', 'ab'], c: 1, d: true, e: 'x', f: 'y' } })
    span.addEvent('one')
    span.addEvent('two')
    span.end()
  }
  t.equal(ownRecorder.ended.length, 2)
  ownRecorder.ended.forEach((span, i) => t.same(shape(span), shape(sdkRecorder.ended[i]!), span.name))
  t.same(ownRecorder.ended[1]!.attributes, { a: 'abcde', b: ['abcde', 'ab'], c: 1, d: true }, 'cut at 5 characters, at most 4 attributes')
  t.equal(ownRecorder.ended[1]!.droppedAttributesCount, 2, 'the two past the limit counted as dropped')
})

t.test("a span begun with pairs (the gateway's own spans) is the span begun with the same attributes as an object", async (t) => {
  const pairsOf = (attributes: Record<string, unknown>) => {
    const pairs = new AttributePairs()
    for (const [key, value] of Object.entries(attributes)) pairs.add(key, value as never)
    return pairs
  }
  const cases: Array<[string, Record<string, string>, Record<string, unknown>]> = [
    ['as given', {}, { 'llm.model': 'gpt-4o-mini', 'llm.messages.count': 3, 'llm.streaming': false, skipped: undefined, tags: ['a', 'b'] }],
    ['within the limits', { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '4', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '5' }, { a: 'abcdefgh', b: ['abcdefgh', 'ab'], c: 1, d: true, e: 'x', f: 'y' }],
  ]
  for (const [name, env, attributes] of cases) {
    const { sdk, own, sdkRecorder, ownRecorder } = tracers(env)
    const mine = (own as GatewayTracer).startWithPairs('llm.request', { kind: SpanKind.CLIENT }, pairsOf(attributes), PARENT)
    mine.setAttribute('llm.tokens.input', 10)
    mine.setAttribute('llm.model', 'gpt-4o')
    mine.end()
    const theirs = sdk.startSpan('llm.request', { kind: SpanKind.CLIENT, attributes: attributes as never }, PARENT)
    theirs.setAttribute('llm.tokens.input', 10)
    theirs.setAttribute('llm.model', 'gpt-4o')
    theirs.end()
    t.same(shape(ownRecorder.ended[0]!), shape(sdkRecorder.ended[0]!), name)
  }
  // A sampler of the SDK's reads no attributes and is shown none; any other is shown them.
  const shown: unknown[] = []
  const reading = new GatewayTracer({
    sampler: { shouldSample: (_c, _t, _n, _k, attributes) => (shown.push(attributes), { decision: 2 }), toString: () => 'reading' },
    limits: spanLimitsFromEnv(),
    resource: resourceFromAttributes({}),
    scope: { name: 'sik-llms-gateway' },
    processors: [],
  })
  reading.startWithPairs('x', {}, pairsOf({ 'llm.model': 'm', n: 1 }), PARENT).end()
  t.same(shown, [{ 'llm.model': 'm', n: 1 }], 'a sampler of its own is given the attributes as an object')
})

t.test('sampling: the same decisions, and ids even when nothing is recorded', async (t) => {
  const off = tracers({ OTEL_TRACES_SAMPLER: 'always_off' })
  const span = off.own.startSpan('llm.request')
  span.end()
  t.equal(off.ownRecorder.ended.length, 0, 'always_off: nothing reaches the processors')
  t.equal(span.isRecording(), false)
  t.match(span.spanContext().traceId, /^[0-9a-f]{32}$/, 'the trace id still exists (returned to the caller)')
  t.equal(span.spanContext().traceFlags, TraceFlags.NONE)

  const parentBased = tracers({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' })
  const child = parentBased.own.startSpan('llm.request', {}, PARENT)
  child.end()
  t.equal(parentBased.ownRecorder.ended.length, 1, "parentbased: a sampled caller's trace is recorded")
  t.equal(child.spanContext().traceFlags, TraceFlags.SAMPLED)

  const ratio = tracers({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' })
  for (let i = 0; i < 400; i++) ratio.own.startSpan('x').end()
  t.ok(ratio.ownRecorder.ended.length > 100 && ratio.ownRecorder.ended.length < 300, `traceidratio 0.5 kept about half (${ratio.ownRecorder.ended.length} of 400)`)
})

t.test('suppressed tracing (the exporters’ own requests) makes no span', async (t) => {
  const { own, ownRecorder } = tracers()
  const span = own.startSpan('POST', {}, suppressTracing(context.active()))
  span.end()
  t.equal(ownRecorder.started, 0)
  t.equal(span.spanContext().traceId, '00000000000000000000000000000000')
})

t.test('startActiveSpan: every overload starts the span, hands it over and returns what the callback returns', async (t) => {
  const { own, ownRecorder } = tracers()
  t.equal(own.startActiveSpan('a', (span) => (span.end(), 1)), 1)
  t.equal(own.startActiveSpan('b', { kind: SpanKind.SERVER }, (span) => (span.end(), 2)), 2)
  t.equal(own.startActiveSpan('c', {}, PARENT, (span) => (span.end(), 3)), 3)
  t.same(ownRecorder.ended.map((span) => [span.name, span.kind, span.parentSpanContext?.spanId]), [
    ['a', SpanKind.INTERNAL, undefined],
    ['b', SpanKind.SERVER, undefined],
    ['c', SpanKind.INTERNAL, 'b7ad6b7169203331'],
  ])
})

t.test('attributes read while the span runs show every later change, as the SDK span does', async (t) => {
  const { sdk, own, sdkRecorder, ownRecorder } = tracers()
  for (const tracer of [sdk, own]) {
    const span = tracer.startSpan('llm.request', { attributes: { 'llm.model': 'gpt-4o-mini', 'llm.streaming': false } })
    t.same((span as unknown as ReadableSpan).attributes, { 'llm.model': 'gpt-4o-mini', 'llm.streaming': false })
    span.setAttribute('llm.tokens.input', 12)
    span.setAttribute('llm.model', 'gpt-4o-mini-2024-07-18')
    span.setAttributes({ 'llm.streaming': true, 'llm.tokens.output': 3 })
    span.end()
  }
  t.same(ownRecorder.ended[0]!.attributes, { 'llm.model': 'gpt-4o-mini-2024-07-18', 'llm.streaming': true, 'llm.tokens.input': 12, 'llm.tokens.output': 3 })
  t.same(Object.keys(ownRecorder.ended[0]!.attributes), Object.keys(sdkRecorder.ended[0]!.attributes), 'in the order first set, as the SDK keeps them')
  t.same(shape(ownRecorder.ended[0]!), shape(sdkRecorder.ended[0]!))
})

t.test('span times: the SDK\'s arithmetic to the nanosecond (start and end from one addition, not three arrays)', async (t) => {
  const bases = [millisToHrTime(performance.timeOrigin), [0, 0], [1_700_000_000, 999_999_999], [1_700_000_000, 500_000_000]] as Array<[number, number]>
  const millis = [0, 0.0000004, 0.0000005, 0.4999999, 999.9999995, 1000, 1234.5678901, 86_400_000.123456, performance.now()]
  for (let i = 0; i < 2000; i++) millis.push(Math.random() * 10 ** (i % 9))
  let differ = 0
  for (const base of bases) {
    for (const ms of millis) if (String(plusMillis(base, ms)) !== String(addHrTimes(base, millisToHrTime(ms)))) differ++
  }
  t.equal(differ, 0, `${bases.length * millis.length} sums, each equal to addHrTimes(base, millisToHrTime(ms))`)
})
