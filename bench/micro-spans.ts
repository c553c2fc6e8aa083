// What a request's four spans cost to make and to write as records, in isolation: `node
// bench/micro-spans.ts [bare|objects|copies]`. The gateway's tracer (gateway-tracer.ts) makes four
// spans of 17, 29, 13 and 7 attributes (numbers, strings of 20-odd characters, booleans), about as
// many as the SERVER span, `llm.request`, the provider attempt and the `POST` of a plain call carry;
// each span is written by the hand-off's RecordWriter (span-records.ts) as it ends, by a processor
// that keeps no span (as the hand-off: the attributes are encoded as set, attribute-bytes.ts), 16
// requests a batch. The spans are INTERNAL roots. `bare`: the same
// spans with one attribute each; `objects` (the default): each span's attributes given as one
// object, made once; `copies`: a fresh copy of that object for each span, as the gateway's call
// sites make theirs. Prints µs a request for making and for recording, six rounds of 100,000.
import { SpanKind, type Attributes } from '@opentelemetry/api'
import { AlwaysOnSampler, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { GatewayTracer, type KeepsNoSpans } from '../src/telemetry/gateway-tracer.ts'
import { LEAN_ROOT } from '../src/telemetry/lean-context.ts'
import { gatewayResource } from '../src/telemetry/resource.ts'
import { RecordWriter } from '../src/telemetry/span-records.ts'
import { spanLimitsFromEnv } from '../src/telemetry/tracing-config.ts'

const mode = process.argv[2] ?? 'objects'
if (!['bare', 'objects', 'copies'].includes(mode)) throw new Error('usage: node bench/micro-spans.ts [bare|objects|copies]')
const writer = new RecordWriter()
/** performance.now() spent writing records. */
let recordingMs = 0
const record: SpanProcessor & KeepsNoSpans = {
  keepsNoSpans: true,
  onStart() {},
  onEnd(span: ReadableSpan) {
    const started = performance.now()
    writer.add(span)
    recordingMs += performance.now() - started
  },
  forceFlush: async () => {},
  shutdown: async () => {},
}
const tracer = new GatewayTracer({ sampler: new AlwaysOnSampler(), limits: spanLimitsFromEnv(), resource: gatewayResource('micro-spans'), scope: { name: 'micro-spans' }, processors: [record] })

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
  let total = 0
  recordingMs = 0
  for (let r = 0; r < requests; r++) {
    const started = performance.now()
    for (let k = 0; k < 4; k++) {
      const attributes = mode === 'bare' ? undefined : mode === 'copies' ? { ...ATTRIBUTES[k] } : ATTRIBUTES[k]
      const span = tracer.startSpan(NAMES[k]!, { kind: SpanKind.INTERNAL, attributes }, LEAN_ROOT)
      // One attribute known only at the end (a status code, a duration), as every span has.
      span.setAttribute('late', r)
      span.end()
    }
    if (r % 16 === 15) spans += writer.take(() => true)
    total += performance.now() - started
  }
  const perRequest = (ms: number) => ((ms * 1000) / requests).toFixed(2)
  console.log(`${mode}: making ${perRequest(total - recordingMs)} µs a request, recording ${perRequest(recordingMs)}`)
}
if (spans === 0) throw new Error('no span was recorded')
