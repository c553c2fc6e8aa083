// What a request's four spans cost to make and to write as records, in isolation: `node
// bench/micro-spans.ts [bare|objects|copies]`. The gateway's tracer (gateway-tracer.ts) makes four
// spans of 17, 29, 13 and 7 attributes (numbers, strings of 20-odd characters, booleans), about as
// many as the SERVER span, `llm.request`, the provider attempt and the `POST` of a plain call carry;
// each span is ended and written by the hand-off's RecordWriter (span-records.ts), 16 requests a
// batch. The values are constants (after the first record, one byte each: T_SAME) and the spans
// INTERNAL roots, so recording here costs at most what it costs the gateway. `bare`: the same
// spans with one attribute each; `objects` (the default): each span's attributes given as one
// object, made once; `copies`: a fresh copy of that object for each span, as the gateway's call
// sites make theirs. Prints µs a request for making and for recording, six rounds of 100,000.
import { SpanKind, type Attributes } from '@opentelemetry/api'
import { AlwaysOnSampler, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { GatewayTracer } from '../src/telemetry/gateway-tracer.ts'
import { LEAN_ROOT } from '../src/telemetry/lean-context.ts'
import { gatewayResource } from '../src/telemetry/resource.ts'
import { RecordWriter } from '../src/telemetry/span-records.ts'
import { spanLimitsFromEnv } from '../src/telemetry/tracing-config.ts'

const mode = process.argv[2] ?? 'objects'
if (!['bare', 'objects', 'copies'].includes(mode)) throw new Error('usage: node bench/micro-spans.ts [bare|objects|copies]')
const ended: ReadableSpan[] = []
const collect: SpanProcessor = { onStart() {}, onEnd: (span) => void ended.push(span), forceFlush: async () => {}, shutdown: async () => {} }
const tracer = new GatewayTracer({ sampler: new AlwaysOnSampler(), limits: spanLimitsFromEnv(), resource: gatewayResource('micro-spans'), scope: { name: 'micro-spans' }, processors: [collect] })
const writer = new RecordWriter()

const NAMES = ['POST /v1/chat/completions', 'llm.request', 'llm.openai.chat', 'POST']
function attributesOf(count: number, prefix: string): Attributes {
  const attributes: Attributes = {}
  for (let i = 0; i < count; i++) attributes[`${prefix}.attribute_${i}`] = i % 3 === 0 ? i : i % 3 === 1 ? `value-${i}-of-twenty-odd` : true
  return attributes
}
const ATTRIBUTES = [attributesOf(16, 'server'), attributesOf(28, 'llm'), attributesOf(12, 'provider'), attributesOf(6, 'client')]

let spans = 0
for (let round = 0; round < 6; round++) {
  const requests = 100_000
  let making = 0
  let recording = 0
  for (let r = 0; r < requests; r++) {
    const started = performance.now()
    for (let k = 0; k < 4; k++) {
      const attributes = mode === 'bare' ? undefined : mode === 'copies' ? { ...ATTRIBUTES[k] } : ATTRIBUTES[k]
      const span = tracer.startSpan(NAMES[k]!, { kind: SpanKind.INTERNAL, attributes }, LEAN_ROOT)
      // One attribute known only at the end (a status code, a duration), as every span has.
      span.setAttribute('late', r)
      span.end()
    }
    const made = performance.now()
    for (let i = 0; i < ended.length; i++) writer.add(ended[i]!)
    ended.length = 0
    if (r % 16 === 15) spans += writer.take(() => true)
    making += made - started
    recording += performance.now() - made
  }
  console.log(`${mode}: making ${((making * 1000) / requests).toFixed(2)} µs a request, recording ${((recording * 1000) / requests).toFixed(2)}`)
}
if (spans === 0) throw new Error('no span was recorded')
