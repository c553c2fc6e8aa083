// What the metric points of one chat request cost in the OpenTelemetry SDK, in isolation:
// `node bench/micro-metrics.ts [readers=1]`. The same instruments and attribute sets as
// src/telemetry/llm-call.ts records (six sums, three histograms, the GenAI token histogram twice),
// through a MeterProvider with the Prometheus exporter as its reader (readers=2 adds a second
// reader, as the gateway had before metric-push.ts). Prints CPU µs per request.
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'

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
