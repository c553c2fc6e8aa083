// What the metric points of one chat request cost, in isolation. Prints CPU µs per request.
//
// `node bench/micro-metrics.ts [readers=1]`: in the OpenTelemetry SDK, the same instruments and
// attribute sets as src/telemetry/llm-call.ts recorded (six sums, three histograms, the GenAI
// token histogram twice), through a MeterProvider with the Prometheus exporter as its reader
// (readers=2 adds a second reader, as the gateway had before metric-push.ts).
//
// `node bench/micro-metrics.ts call [DIR] [off]`: the gateway's own recording, as the checkout in
// DIR (default: this one) has it: an LlmCall of a named key ended with usage and cost (its spans
// are the API's no-op ones), the metrics read by the Prometheus exporter as setup.ts builds it;
// `off` without any MeterProvider (OTEL_SDK_DISABLED). Compare two checkouts by their DIR.
import { metrics } from '@opentelemetry/api'
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { resolve } from 'node:path'

if (process.argv[2] === 'call') {
  await benchCall(resolve(process.argv[3] ?? '.'), process.argv[4] === 'off')
  process.exit(0)
}

const readerCount = Number(process.argv[2] ?? 1)
const readers = Array.from({ length: readerCount }, () => new PrometheusExporter({ preventServerStart: true }) as unknown as MetricReader)
const meter = new MeterProvider({ readers }).getMeter('bench')
const buckets = { advice: { explicitBucketBoundaries: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120] } }
const [requests, tokensIn, tokensOut, cacheRead, cacheWrite] = ['requests', 'in', 'out', 'read', 'write'].map((name) => meter.createCounter(name))
const cost = meter.createUpDownCounter('cost')
const duration = meter.createHistogram('duration', buckets)
const genAiDuration = meter.createHistogram('genai.duration', buckets)
const genAiTokens = meter.createHistogram('genai.tokens')

function oneRequest(model: string): void {
  const labels = { 'llm.model': model, 'llm.provider': 'openai' }
  requests!.add(1, { ...labels, 'llm.operation': 'chat' })
  duration.record(0.42, labels)
  tokensIn!.add(120, labels)
  tokensOut!.add(80, labels)
  cacheRead!.add(0, labels)
  cacheWrite!.add(0, labels)
  cost.add(0.0001, labels)
  const genAi = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': model, 'gen_ai.response.model': `${model}-2024-07-18` }
  genAiDuration.record(0.42, genAi)
  genAiTokens.record(120, { ...genAi, 'gen_ai.token.type': 'input' })
  genAiTokens.record(80, { ...genAi, 'gen_ai.token.type': 'output' })
}

for (let i = 0; i < 50_000; i++) oneRequest('gpt-4o-mini') // warm-up: JIT
const n = 200_000
const before = process.cpuUsage()
for (let i = 0; i < n; i++) oneRequest('gpt-4o-mini')
const used = process.cpuUsage(before)
console.log(`${readerCount} reader(s): ${((used.user + used.system) / n).toFixed(1)} µs CPU per request (10 metric points)`)

async function benchCall(dir: string, off: boolean): Promise<void> {
  if (!off) {
    // A checkout from before src/telemetry/series.ts records on SDK instruments only.
    const series = await import(`${dir}/src/telemetry/series.ts`).catch(() => undefined)
    const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: series ? [series.keepSeries()] : [] })
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter as unknown as MetricReader] }))
  }
  const { LlmCall } = await import(`${dir}/src/telemetry/llm-call.ts`)
  const caller = { kind: 'named', id: 'key_1', name: 'checkout-service', team: 'payments' }
  const usage = { input: 120, output: 80, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: 0 }
  const cost = { input: 0.00002, output: 0.00005, total: 0.00007 }
  // As in the gateway, the model names are new strings with every request (parsed from its JSON).
  const oneCall = () => {
    const call = new LlmCall({
      provider: 'openai', operation: 'chat', api: 'chat', model: JSON.parse('"gpt-4o-mini"'), streaming: false, messagesCount: 1,
      endpoint: undefined, knownModel: true, caller,
    })
    call.cache('miss')
    call.succeed({ usage, cost, responseModel: JSON.parse('"gpt-4o-mini-2024-07-18"'), finishReasons: ['stop'] })
  }
  for (let i = 0; i < 50_000; i++) oneCall()
  const n = 200_000
  const before = process.cpuUsage()
  for (let i = 0; i < n; i++) oneCall()
  const used = process.cpuUsage(before)
  console.log(`${dir}${off ? ' (no MeterProvider)' : ''}: ${((used.user + used.system) / n).toFixed(2)} µs CPU per call (llm_*, gen_ai.client.*, gateway_key_*: 15 points)`)
}
