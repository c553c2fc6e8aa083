// Spans reach the telemetry worker as flat records (src/telemetry/span-records.ts), read back there
// (span-record-reader.ts) and only then encoded as OTLP. Whatever a span holds must come out as the
// same OTLP bytes as the span itself encodes to on the main thread: every attribute type, events,
// links, trace state, status, remote parents, both tracers' spans, a resource whose detectors
// answer late, and the tables that start again (a lost batch, too many names). Then the shared
// ring itself: wrapping, refusing what does not fit, counting what waits.
import t from 'tap'
import { SpanKind, SpanStatusCode, TraceFlags, type Span, type Tracer } from '@opentelemetry/api'
import { TraceState } from '@opentelemetry/core'
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources'
import { AlwaysOnSampler, TracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { GatewayTracer } from '../../src/telemetry/gateway-tracer.ts'
import { SpanEncoder } from '../../src/telemetry/otlp-span-encoder.ts'
import { ProtoWriter } from '../../src/telemetry/protobuf.ts'
import type { RecordSpan } from '../../src/telemetry/record-span.ts'
import { RecordReader } from '../../src/telemetry/span-record-reader.ts'
import { RecordWriter } from '../../src/telemetry/span-records.ts'
import { SpanRing } from '../../src/telemetry/span-ring.ts'
import { spanLimitsFromEnv } from '../../src/telemetry/tracing-config.ts'

function collector(): SpanProcessor & { ended: ReadableSpan[] } {
  return { ended: [], onStart() {}, onEnd(span) { this.ended.push(span) }, forceFlush: async () => {}, shutdown: async () => {} }
}

function tracers(resource: Resource = resourceFromAttributes({ 'service.name': 'records', 'deployment.environment.name': 'test', 'service.version': '1.2.3' })) {
  const sdkSpans = collector()
  const ownSpans = collector()
  const sdk = new TracerProvider({ resource, spanProcessors: [sdkSpans] }).getTracer('@opentelemetry/instrumentation-undici', '0.1.0')
  const own = new GatewayTracer({ sampler: new AlwaysOnSampler(), limits: spanLimitsFromEnv(), resource, scope: { name: 'sik-llms-gateway' }, processors: [ownSpans] })
  return { sdk, own, ended: () => [...ownSpans.ended.splice(0), ...sdkSpans.ended.splice(0)] }
}

/** A span's OTLP bytes (ScopeSpans.spans) with its scope's and resource's, as one encoder writes them. */
function otlp(span: ReadableSpan | RecordSpan, encoder = new SpanEncoder()): { span: string; scope: string; resource: string } {
  const w = new ProtoWriter(1024)
  encoder.span(w, span as ReadableSpan)
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
  return { span: hex(w.buf.subarray(0, w.pos)), scope: hex(encoder.scopeBytes(span.instrumentationScope)), resource: hex(encoder.resourceBytes(span.resource)) }
}

/** The spans through a writer, each batch published to a reader; what the reader gave back. */
function handOver(batches: ReadableSpan[][], writer = new RecordWriter(), reader = new RecordReader()): RecordSpan[] {
  const out: RecordSpan[] = []
  for (const batch of batches) {
    for (const span of batch) writer.add(span)
    writer.take((bytes, length) => {
      reader.batch(bytes.subarray(0, length), (span) => out.push(span))
      return true
    })
  }
  return out
}

/** Every kind of thing a span may hold, through `tracer`. */
function everything(tracer: Tracer, round: number): void {
  const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER })
  const linked = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: new TraceState('vendor=value,other=1') }
  const child: Span = tracer.startSpan(
    'child',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': 'POST', 'server.port': 443 + round },
      links: [{ context: linked, attributes: { 'link.type': 'evaluation', score: 0.5, tags: ['a', 'b'] } }, { context: { ...linked, traceState: undefined } }],
    },
  )
  child.setAttributes({
    short: 'gpt-4o',
    long: 'x'.repeat(200) + ' ünïcödé 👍 ' + 'y'.repeat(50),
    emoji: '👍🏽',
    empty: '',
    integer: 42,
    negative: -7,
    large: 2 ** 60,
    float: 0.125 + round,
    nan: Number.NaN,
    yes: true,
    no: false,
    strings: ['one', 'two', 'ü'],
    numbers: [1, 2.5, -3],
    mixed: ['a', null as unknown as string, 'c'],
    empty_array: [],
  })
  child.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': 'hello', count: 3 })
  child.addEvent('bare')
  child.recordException(Object.assign(new Error('upstream refused'), { code: 'ECONNRESET' }))
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream refused: 503' })
  child.end()
  parent.setStatus({ code: SpanStatusCode.OK })
  parent.end()
}

t.test('every kind of attribute, event, link and status: the same OTLP bytes after the hand-over', async (t) => {
  const { sdk, own, ended } = tracers()
  for (const tracer of [own, sdk]) for (let round = 0; round < 3; round++) everything(tracer, round)
  const spans = ended()
  t.equal(spans.length, 12)
  const back = handOver([spans.slice(0, 5), spans.slice(5)])
  t.equal(back.length, spans.length, 'every span comes back')
  for (const [i, span] of spans.entries()) {
    t.same(otlp(back[i]!), otlp(span), `${span.instrumentationScope.name} ${span.name} #${i}`)
  }
  // The values each read back as the span has them (not only equal once encoded).
  const child = back.find((span) => span.name === 'child')!
  t.same(child.attributes.long, (spans.find((span) => span.name === 'child')!.attributes.long))
  t.same(child.events.map((event) => event.name), ['gen_ai.content.prompt', 'bare', 'exception'])
  t.equal(child.links[0]?.context.traceState?.serialize(), 'vendor=value,other=1')
  t.equal(child.links[0]?.context.isRemote, true)
})

t.test('one encoder for every span read back: the same bytes from its cache of shared keys, its key table full or not', async (t) => {
  const { own, ended } = tracers()
  /** Spans of three names, each name with the same keys every time, its values varying. */
  const named = (round: number) => {
    for (let i = 0; i < 30; i++) {
      const span = own.startSpan(`span ${i % 3}`, { attributes: { 'gen_ai.request.model': `model ${(i + round) % 5}`, 'llm.attempt': i % 2, [`name.${i % 3}`]: round } })
      span.end()
    }
  }
  named(0)
  // Then more keys than the encoder's table holds (512), then the same names again.
  for (let i = 0; i < 600; i++) own.startSpan('many', { attributes: { [`key.${i}`]: i } }).end()
  named(1)
  for (let round = 0; round < 3; round++) everything(own, round)
  const spans = ended()
  const back = handOver([spans.slice(0, 20), spans.slice(20, 400), spans.slice(400)])
  const shared = back.filter((span) => span.name === 'span 1')
  t.ok(shared.length === 20 && shared.every((span) => span.attributeKeys === shared[0]!.attributeKeys), "a name's spans share one keys array")
  const encoder = new SpanEncoder()
  let same = 0
  for (const [i, span] of spans.entries()) if (otlp(back[i]!, encoder).span === otlp(span).span) same++
  t.equal(same, spans.length, 'every span encodes as the SDK would')
})

t.test("values the SDK's tracer refuses but the gateway's takes (maps, bytes) are carried too", async (t) => {
  const { own, ended } = tracers()
  const span = own.startSpan('odd values')
  span.setAttribute('bytes', new Uint8Array([0, 1, 255]) as unknown as string)
  span.setAttribute('map', { nested: { deeper: 'x', n: 2 }, list: [1, 'b'] } as unknown as string)
  span.end()
  const [original] = ended()
  const [back] = handOver([[original!]])
  t.same(otlp(back!), otlp(original!))
  t.same(back!.attributes.bytes, new Uint8Array([0, 1, 255]))
})

t.test('a span of a remote parent with trace state keeps both, from either tracer', async (t) => {
  const { sdk, own, ended } = tracers()
  const { context, trace } = await import('@opentelemetry/api')
  const remote = trace.setSpanContext(context.active(), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: new TraceState('congo=t61rcWkgMzE'),
  })
  for (const tracer of [sdk, own]) {
    tracer.startSpan('under a caller', {}, remote).end()
    const [original] = ended()
    const [back] = handOver([[original!]])
    t.same(otlp(back!), otlp(original!))
    t.equal(back!.spanContext().traceId, '4bf92f3577b34da6a3ce929d0e0e4736', "the caller's trace id")
    t.equal(back!.parentSpanContext?.spanId, '00f067aa0ba902b7', "the caller's span id as the parent")
    t.equal(back!.parentSpanContext?.isRemote, true)
    t.equal(back!.spanContext().traceState?.serialize(), 'congo=t61rcWkgMzE')
  }
})

t.test("the gateway's ids, copied from the bytes its id pool cut them from, read back as the hex the spans carry", async (t) => {
  const { own, ended } = tracers()
  const { context, trace } = await import('@opentelemetry/api')
  // Past several refills of the pool (4 KiB: 512 span ids), parents and children from different refills.
  for (let i = 0; i < 700; i++) {
    const root = own.startSpan(`root ${i % 3}`)
    const child = own.startSpan('child', {}, trace.setSpan(context.active(), root))
    own.startSpan('grandchild', {}, trace.setSpan(context.active(), child)).end()
    child.end()
    root.end()
  }
  const spans = ended()
  const back = handOver([spans.slice(0, 1000), spans.slice(1000)])
  t.equal(back.length, 2100)
  const wrong = back.filter((span, i) =>
    span.spanContext().traceId !== spans[i]!.spanContext().traceId ||
    span.spanContext().spanId !== spans[i]!.spanContext().spanId ||
    span.parentSpanContext?.spanId !== spans[i]!.parentSpanContext?.spanId)
  t.equal(wrong.length, 0, 'every trace id, span id and parent id as it was')
  t.same(otlp(back[2097]!), otlp(spans[2097]!), 'the same OTLP bytes')
  t.equal(new Set(back.map((span) => span.spanContext().spanId)).size, 2100, 'no span id twice')
})

t.test('ids of other lengths (an SDK tracer given its own id generator) come back as they went', async (t) => {
  const spans = collector()
  const resource = resourceFromAttributes({ 'service.name': 'records' })
  const idGenerator = { generateTraceId: () => 'ab'.repeat(12), generateSpanId: () => 'cd'.repeat(5) }
  const tracer = new TracerProvider({ resource, idGenerator, spanProcessors: [spans] }).getTracer('custom-ids')
  const { context, trace } = await import('@opentelemetry/api')
  const remote = trace.setSpanContext(context.active(), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true })
  tracer.startSpan('a root of its own ids').end()
  tracer.startSpan('under a W3C parent, its own span id').end()
  tracer.startSpan('under a W3C parent', {}, remote).end()
  const originals = spans.ended.splice(0)
  // Between spans of W3C ids (the gateway's), so that both ways of reading ids alternate in one batch.
  const { own, ended } = tracers(resource)
  own.startSpan('before').end()
  const before = ended()
  own.startSpan('after').end()
  const mixed = [...before, ...originals, ...ended()]
  const back = handOver([mixed])
  t.equal(back.length, mixed.length, 'every span comes back')
  t.same(back.map((span) => otlp(span)), mixed.map((span) => otlp(span)))
  t.equal(back[3]!.parentSpanContext?.spanId, '00f067aa0ba902b7')
  t.equal(back[1]!.spanContext().traceId, 'ab'.repeat(12))
})

t.test('a repeated span costs a fraction of the first, and reads back whole', async (t) => {
  const { own, ended } = tracers()
  const sizes: number[] = []
  const writer = new RecordWriter()
  const reader = new RecordReader()
  const back: RecordSpan[] = []
  for (let i = 0; i < 3; i++) {
    const span = own.startSpan('llm.request', { attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.system': 'openai', 'gen_ai.usage.input_tokens': 10 + (i === 2 ? 1 : 0) } })
    span.end()
    const [ended1] = ended()
    writer.add(ended1!)
    writer.take((bytes, length) => {
      sizes.push(length)
      reader.batch(bytes.subarray(0, length), (s) => back.push(s))
      return true
    })
  }
  t.ok(sizes[1]! < sizes[0]! / 2, `the second record (${sizes[1]} bytes) names no keys and repeats no values (the first: ${sizes[0]})`)
  t.same(back.map((span) => span.attributes['gen_ai.usage.input_tokens']), [10, 10, 11])
  t.same(back.map((span) => span.attributes['gen_ai.request.model']), ['gpt-4o', 'gpt-4o', 'gpt-4o'])
})

t.test('a batch the ring refused: the next one defines again what the reader never saw', async (t) => {
  const { own, ended } = tracers()
  const writer = new RecordWriter()
  const reader = new RecordReader()
  const back: RecordSpan[] = []
  const publish = (accept: boolean) =>
    writer.take((bytes, length) => {
      if (accept) reader.batch(bytes.subarray(0, length), (span) => back.push(span))
      return accept
    })
  own.startSpan('first', { attributes: { a: 'one' } }).end()
  writer.add(ended()[0]!)
  t.equal(publish(true), 1)
  own.startSpan('lost', { attributes: { b: 'two' } }).end()
  own.startSpan('first', { attributes: { a: 'one', c: 3 } }).end()
  for (const span of ended()) writer.add(span)
  t.equal(publish(false), -2, 'the refused spans are counted')
  own.startSpan('lost', { attributes: { b: 'two' } }).end()
  own.startSpan('first', { attributes: { a: 'one', c: 3 } }).end()
  const again = ended()
  for (const span of again) writer.add(span)
  t.equal(publish(true), 2)
  t.same(back.map((span) => [span.name, span.attributes]), [['first', { a: 'one' }], ['lost', { b: 'two' }], ['first', { a: 'one', c: 3 }]])
  t.same(otlp(back[2]!), otlp(again[1]!))
})

t.test('more names than the tables hold: they start again, and every span still reads back', async (t) => {
  const { own, ended } = tracers()
  const names = Array.from({ length: 5000 }, (_, i) => `evaluation judge-${i}`)
  for (const name of names) own.startSpan(name, { attributes: { [`key-${name}`]: name } }).end()
  const spans = ended()
  const back = handOver([spans.slice(0, 2500), spans.slice(2500)])
  t.same(back.map((span) => span.name), names)
  t.same(back.map((span) => span.attributes[`key-${span.name}`]), names)
  t.same(otlp(back[4999]!), otlp(spans[4999]!))
})

/**
 * A resource whose `cloud.region` detector answers when `settle()` is called, as the SDK leaves
 * such a resource: settled only once someone asks (waitForAsyncAttributes). The writer publishes
 * to a reader; `settled` resolves once the writer was told and did what the hand-off does: write
 * the final attributes (`wrote`) and publish them at once.
 */
function lateResource(region: string) {
  let settle!: () => void
  const late = new Promise<void>((resolve) => (settle = resolve))
  const resource = resourceFromAttributes({ 'service.name': 'late', 'cloud.region': late.then(() => region) as unknown as string })
  const { own, ended } = tracers(resource)
  const writer = new RecordWriter()
  const reader = new RecordReader()
  const back: RecordSpan[] = []
  const publish = () => writer.take((bytes, length) => (reader.batch(bytes.subarray(0, length), (span) => back.push(span)), true))
  const settled = new Promise<{ wrote: boolean }>((resolve) => {
    writer.onResourceSettled = () => {
      const wrote = writer.settleResource()
      publish()
      resolve({ wrote })
    }
  })
  /** One span of `name`, ended and added to the batch; the span as the main thread has it. */
  const end = (name: string) => {
    own.startSpan(name).end()
    const span = ended()[0]!
    writer.add(span)
    return span
  }
  return { settle, settled, writer, back, publish, end }
}

t.test('a resource whose detectors answer late: pending until its final attributes come, with no span needed to carry them', async (t) => {
  const { settle, settled, back, publish, end } = lateResource('eu-west-1')
  const original = end('early')
  publish()
  const handed = back[0]!.resource
  t.equal(handed.asyncAttributesPending, true, 'the worker waits with its export')
  let waited = false
  const waiting = handed.waitForAsyncAttributes!().then(() => (waited = true))
  settle()
  t.same(await settled, { wrote: true }, 'the final attributes are written')
  await waiting
  t.ok(waited, 'the worker export goes on, though no span came after')
  t.equal(handed.asyncAttributesPending, false)
  t.equal(handed.attributes['cloud.region'], 'eu-west-1')
  t.same(otlp(back[0]!), otlp(original), 'the early span, with the final resource, as the main thread encodes it')
  end('later')
  publish()
  t.equal(back[1]!.resource, handed, 'the same resource object: the spans group under one ResourceSpans')
})

t.test('a late resource whose tables started again before it settled: its final attributes still go at once', async (t) => {
  const { settle, settled, writer, back, publish, end } = lateResource('eu-north-1')
  end('early')
  publish()
  writer.resync()
  publish()
  settle()
  t.same(await settled, { wrote: true }, 'the final attributes are written, though the tables started again')
  await back[0]!.resource.waitForAsyncAttributes!()
  t.equal(back[0]!.resource.attributes['cloud.region'], 'eu-north-1')
})

t.test('a batch the worker could not read whole: it skips until told the writer started again, and loses nothing after', async (t) => {
  const { own, ended } = tracers()
  const writer = new RecordWriter()
  const reader = new RecordReader()
  const back: RecordSpan[] = []
  /** As the worker does: the ring took the batch, whatever the reader then makes of it; its error, if any. */
  const publish = (read: boolean, accepted = true) => {
    let error: Error | undefined
    writer.take((bytes, length) => {
      try {
        if (read) reader.batch(bytes.subarray(0, length), (span) => back.push(span))
      } catch (thrown) {
        error = thrown as Error
      }
      return accepted
    })
    return error
  }
  const end = (...names: string[]) => {
    for (const name of names) own.startSpan(name, { attributes: { [name]: name.length } }).end()
    for (const span of ended()) writer.add(span)
  }
  end('one')
  publish(true)
  // Accepted by the ring but never read (the worker failed on it): the definitions of 'two' are lost.
  end('two')
  publish(false)
  end('two', 'one')
  t.match(publish(true)?.message, /never defined/, 'a record naming what was never defined is refused, not mis-read')
  end('one')
  publish(true)
  t.same(back.map((span) => span.name), ['one'], 'after the broken batch nothing is read on stale tables')
  writer.resync()
  end('three')
  // The batch that started the tables again is refused by a full ring: the next one starts them again.
  publish(false, false)
  end('one', 'two')
  publish(true)
  t.same(back.map((span) => [span.name, span.attributes]), [['one', { one: 3 }], ['one', { one: 3 }], ['two', { two: 3 }]])
})

t.test('the ring: batches wrap around its end, what does not fit is refused, the spans waiting are counted', async (t) => {
  const ring = new SpanRing(100)
  const reader = new SpanRing(ring.buffer, ring.state)
  const batch = (fill: number, length: number) => new Uint8Array(length).fill(fill)
  t.ok(ring.write(batch(1, 40), 40, 3))
  t.ok(ring.write(batch(2, 30), 30, 2))
  t.equal(reader.pending, 5)
  t.notOk(ring.write(batch(3, 30), 30, 1), 'no room: refused whole')
  const seen: number[][] = []
  t.equal(reader.drain((bytes) => void seen.push([bytes[0]!, bytes.length])), 2)
  t.same(seen, [[1, 40], [2, 30]])
  t.equal(reader.pending, 0)
  // 86 of 100 bytes written and read: the next entry (38 bytes) starts again at 0, and the 14
  // skipped at the end count as used until the reader passes them.
  t.ok(ring.write(batch(4, 30), 30, 4))
  t.ok(ring.write(batch(5, 40), 40, 1), 'fills the ring exactly')
  t.notOk(ring.write(batch(6, 1), 1, 1))
  seen.length = 0
  reader.drain((bytes) => void seen.push([bytes[0]!, bytes.length]))
  t.same(seen, [[4, 30], [5, 40]])
  t.equal(reader.pending, 0)
  t.ok(ring.write(batch(7, 20), 20, 1), 'room again once read')
  t.ok(ring.write(batch(8, 10), 10, 2))
  // A batch whose bytes come by message (too large for the ring) waits there until they came.
  seen.length = 0
  t.equal(reader.drain((bytes) => (bytes[0] === 8 ? false : void seen.push([bytes[0]!, bytes.length]))), 1)
  t.same(seen, [[7, 20]])
  t.equal(reader.pending, 2, 'the batch not taken is still waiting')
  t.equal(reader.drain((bytes) => void seen.push([bytes[0]!, bytes.length])), 1)
  t.same(seen, [[7, 20], [8, 10]])
  t.equal(reader.pending, 0)
})
