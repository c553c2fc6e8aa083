// The gateway's tracer encodes a span's attributes as they are set when its only processors keep
// no span (the hand-off to the telemetry worker), and the record writer copies those bytes as they
// are (src/telemetry/attribute-bytes.ts, span-records.ts). Whatever went that way must come out of
// the worker's reader as the same OTLP bytes as the span encoded on the spot, beside spans that
// hold their values (a key set twice, a long string), within the SDK's limits, and with buffers
// handed from one span to the next.
import t from 'tap'
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { AlwaysOnSampler, TracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import type { EncodedAttributes } from '../../src/telemetry/attribute-bytes.ts'
import { GatewayTracer } from '../../src/telemetry/gateway-tracer.ts'
import { SpanEncoder } from '../../src/telemetry/otlp-span-encoder.ts'
import { ProtoWriter } from '../../src/telemetry/protobuf.ts'
import type { RecordSpan } from '../../src/telemetry/record-span.ts'
import { RecordReader } from '../../src/telemetry/span-record-reader.ts'
import { RecordWriter } from '../../src/telemetry/span-records.ts'
import { spanLimitsFromEnv, type Limits } from '../../src/telemetry/tracing-config.ts'

const resource = resourceFromAttributes({ 'service.name': 'attribute-bytes' })

function otlpOf(span: ReadableSpan | RecordSpan): string {
  const w = new ProtoWriter(1024)
  new SpanEncoder().span(w, span as ReadableSpan)
  return Buffer.from(w.buf.subarray(0, w.pos)).toString('hex')
}

/**
 * A tracer whose one processor keeps no span, as the hand-off: at each span's end its OTLP bytes
 * and whether its attributes were still encoded, then its record. `back()` reads the records.
 */
function recording(limits: Limits = spanLimitsFromEnv()) {
  const writer = new RecordWriter()
  const reader = new RecordReader()
  const seen: Array<{ name: string; otlp: string; encoded: boolean; attributes: Attributes; dropped: number }> = []
  const processor: SpanProcessor & { keepsNoSpans: true } = {
    keepsNoSpans: true,
    onStart() {},
    onEnd(span) {
      const encoded = (span as Partial<EncodedAttributes>).encodedAttributes !== undefined
      seen.push({ name: span.name, otlp: otlpOf(span), encoded, attributes: { ...span.attributes }, dropped: span.droppedAttributesCount })
      writer.add(span)
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  }
  const tracer = new GatewayTracer({ sampler: new AlwaysOnSampler(), limits, resource, scope: { name: 'sik-llms-gateway' }, processors: [processor] })
  const back = (): RecordSpan[] => {
    const out: RecordSpan[] = []
    writer.take((bytes, length) => {
      reader.batch(bytes.subarray(0, length), (span) => out.push(span))
      return true
    })
    return out
  }
  return { tracer, seen, back }
}

t.test('attributes encoded as set come out of the worker as the span encodes on the spot, beside spans that hold theirs', async (t) => {
  const { tracer, seen, back } = recording()
  for (let round = 0; round < 3; round++) {
    const span = tracer.startSpan('llm.request', { kind: SpanKind.INTERNAL, attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'llm.attempt': round, 'gen_ai.request.stream': round === 1 } })
    span.setAttributes({ short: 'ü', long: 'x'.repeat(300) + ' 👍🏽', float: 0.5 + round, large: 2 ** 60, strings: ['a', 'b'], numbers: [1, -2.5], empty: [], map: { k: 'v', n: 1 }, bytes: new Uint8Array([1, 2, 255]) })
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'no' })
    span.addEvent('event', { 'gen_ai.prompt': 'hi' })
    span.end()
    // A key set again: from then on the span holds its values, the first place of the key kept.
    const again = tracer.startSpan('llm.request', { attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'llm.attempt': round } })
    again.setAttribute('gen_ai.request.model', `fallback ${round}`)
    again.setAttribute('after', true)
    again.end()
    // A long string (a captured prompt) is held as it is, not copied.
    const captured = tracer.startSpan('captured', { attributes: { before: 1, 'gen_ai.input.messages': 'p'.repeat(5000 + round) } })
    captured.setAttribute('after', 'a')
    captured.end()
  }
  const spans = back()
  t.equal(spans.length, seen.length)
  t.same(seen.map((span) => span.encoded), [true, false, false, true, false, false, true, false, false], 'encoded unless a key came twice or a value was long')
  for (const [i, span] of spans.entries()) t.equal(otlpOf(span), seen[i]!.otlp, `${seen[i]!.name} #${i}`)
  t.same(spans[1]!.attributeKeys, ['gen_ai.request.model', 'llm.attempt', 'after'])
  t.equal(spans[1]!.attributes['gen_ai.request.model'], 'fallback 0')
  t.same(spans[0]!.attributes.map, { k: 'v', n: 1 })
  t.same(spans[0]!.attributes.bytes, new Uint8Array([1, 2, 255]))
})

t.test("a name's spans encoded and held in turn: no value is ever read as another span's", async (t) => {
  const { tracer, back } = recording()
  // Each row: the values of keys a and b, and whether the span goes held (b set twice) or encoded.
  const rows: Array<[string, number, boolean]> = [['x', 1, false], ['x', 1, true], ['x', 2, true], ['z', 3, false], ['z', 2, true], ['z', 2, true], ['z', 2, false], ['z', 2, true]]
  for (const [a, b, held] of rows) {
    const span = tracer.startSpan('same name', { attributes: { a, b: held ? -1 : b } })
    if (held) span.setAttribute('b', b)
    span.end()
  }
  t.same(back().map((span) => [span.attributes.a, span.attributes.b]), rows.map(([a, b]) => [a, b]))
})

t.test('the count and length limits apply as in the SDK', async (t) => {
  const limits = { ...spanLimitsFromEnv(), attributeCountLimit: 3, attributeValueLengthLimit: 5 }
  const { tracer, seen, back } = recording(limits)
  const sdkSpans: ReadableSpan[] = []
  const sdk = new TracerProvider({ resource, spanLimits: limits, spanProcessors: [{ onStart() {}, onEnd: (span) => sdkSpans.push(span), forceFlush: async () => {}, shutdown: async () => {} }] }).getTracer('sdk')
  for (const each of [tracer, sdk]) {
    const span = each.startSpan('limited', { attributes: { one: 'abcdefgh', two: ['123456', 'ok'] } })
    span.setAttributes({ three: 3, four: 4, five: 'five!!' })
    span.setAttribute('one', 'again and again')
    span.end()
  }
  const [mine] = back()
  t.same(mine!.attributes, sdkSpans[0]!.attributes)
  t.equal(mine!.droppedAttributesCount, sdkSpans[0]!.droppedAttributesCount)
  t.equal(seen[0]!.dropped, 2)
})

t.test('buffers go from one span to the next: what each span recorded stays its own', async (t) => {
  const { tracer, back } = recording()
  const expected: Attributes[] = []
  for (let i = 0; i < 300; i++) {
    // Every tenth span grows its buffer well past what is kept for the next one.
    const attributes: Attributes = { i, name: `span ${i}`, ...(i % 10 === 0 ? { big1: 'b'.repeat(4000), big2: 'c'.repeat(4000), big3: 'd'.repeat(4000), big4: 'e'.repeat(4000), big5: 'f'.repeat(4000) } : {}) }
    // Three spans open at once, ended in another order than they started.
    const spans = [0, 1, 2].map((k) => tracer.startSpan(`s${k}`, { attributes: { ...attributes, k } }))
    for (const k of [2, 0, 1]) {
      spans[k]!.end()
      expected.push({ ...attributes, k })
    }
  }
  const read = back().map((span) => span.attributes)
  t.equal(read.length, expected.length)
  t.ok(read.every((attributes, i) => JSON.stringify(attributes) === JSON.stringify(expected[i])), 'every span reads back with its own values')
})

t.test("the worker's reader gives a value in the same bytes as the last span of the name had back as it was, decoding only the rest", async (t) => {
  const { tracer, back } = recording()
  const rows: Array<[string[], number, string]> = [[['stop'], 1, 'gpt-4o'], [['stop'], 2, 'gpt-4o'], [['length'], 2, 'gpt-4o'], [['length'], 2, 'gpt-4o-mini']]
  for (const [reasons, tokens, model] of rows) {
    const span = tracer.startSpan('llm.request', { attributes: { 'gen_ai.response.finish_reasons': reasons, 'gen_ai.usage.output_tokens': tokens, 'gen_ai.response.model': model } })
    span.end()
  }
  const read = back().map((span) => span.attributes)
  t.same(read.map((attributes) => [attributes['gen_ai.response.finish_reasons'], attributes['gen_ai.usage.output_tokens'], attributes['gen_ai.response.model']]), rows)
  t.equal(read[1]!['gen_ai.response.finish_reasons'], read[0]!['gen_ai.response.finish_reasons'], 'the same array, not decoded again')
  t.not(read[2]!['gen_ai.response.finish_reasons'], read[1]!['gen_ai.response.finish_reasons'], 'a value in other bytes is decoded')
})
