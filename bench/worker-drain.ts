// What the telemetry worker spends per request on its side of the hand-over, alone on a thread:
// the records of a Chat Completions request's four spans (their attributes as the bench's
// requests have them, batches of 11 requests as under load) read back, encoded and queued for
// export (a transport that sends nothing) and kept in the trace store. Its sending (the HTTP
// export) and its event loop are not in it. `node bench/worker-drain.ts [GATEWAY_DIR]`, e.g. a
// worktree of another commit against `.`; prints the fastest and the median of ten rounds.
import { resolve } from 'node:path'

const dir = resolve(process.argv[2] ?? '.')
const { GatewayTracer } = await import(`${dir}/src/telemetry/gateway-tracer.ts`)
const { RecordWriter } = await import(`${dir}/src/telemetry/span-records.ts`)
const { RecordReader } = await import(`${dir}/src/telemetry/span-record-reader.ts`)
const { SpanExportProcessor } = await import(`${dir}/src/telemetry/span-export.ts`)
const { TraceStore } = await import(`${dir}/src/telemetry/trace-store.ts`)
const { spanLimitsFromEnv } = await import(`${dir}/src/telemetry/tracing-config.ts`)
const { resourceFromAttributes } = await import('@opentelemetry/resources')
const { AlwaysOnSampler } = await import('@opentelemetry/sdk-trace')
const { SpanKind, context, trace } = await import('@opentelemetry/api')
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- spans of either checkout's classes
const ended: any[] = []
const tracer = new GatewayTracer({ sampler: new AlwaysOnSampler(), limits: spanLimitsFromEnv(), resource: resourceFromAttributes({ 'service.name': 'gw' }), scope: { name: 'sik-llms-gateway' }, processors: [{ onStart() {}, onEnd(s: any) { ended.push(s) }, forceFlush: async () => {}, shutdown: async () => {} }] })
function request(i: number) {
  const server = tracer.startSpan('POST /v1/chat/completions', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'url.scheme': 'http', 'url.path': '/v1/chat/completions', 'network.protocol.version': '1.1', 'http.route': '/v1/chat/completions', 'network.peer.address': '127.0.0.1', 'network.peer.port': 40000 + (i % 1000), 'user_agent.original': 'autocannon', 'server.address': '127.0.0.1', 'server.port': 8080, 'client.address': '127.0.0.1' } })
  const c1 = trace.setSpan(context.active(), server)
  const req = tracer.startSpan('llm.request', { attributes: { 'llm.model': 'gpt-4o-mini', 'llm.provider': 'openai', 'llm.operation': 'chat', 'llm.api': 'chat', 'llm.messages.count': 2, 'llm.streaming': false, 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.request.stream': false, 'server.address': '127.0.0.1', 'server.port': 9000 } }, c1)
  const c2 = trace.setSpan(c1, req)
  const att = tracer.startSpan('llm.openai.chat', { kind: SpanKind.CLIENT, attributes: { 'llm.streaming': false, 'llm.attempt': 1, 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'server.address': '127.0.0.1', 'server.port': 9000 } }, c2)
  const post = tracer.startSpan('POST', { kind: SpanKind.CLIENT }, trace.setSpan(c2, att))
  post.setAttribute('http.request.method', 'POST'); post.setAttribute('url.full', 'http://127.0.0.1:9000/v1/chat/completions'); post.setAttribute('server.address', '127.0.0.1'); post.setAttribute('server.port', 9000); post.setAttribute('http.response.status_code', 200)
  post.end()
  att.end()
  req.setAttributes({ 'llm.response.finish_reason': 'stop', 'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.response.id': 'chatcmpl-bench', 'llm.tokens.input': 19, 'llm.tokens.output': 40, 'llm.tokens.total': 59, 'llm.tokens.cache_read': 0, 'llm.tokens.cache_write': 0, 'gen_ai.usage.input_tokens': 19, 'gen_ai.usage.output_tokens': 40, 'gen_ai.usage.cache_read.input_tokens': 0, 'gen_ai.usage.cache_creation.input_tokens': 0, 'llm.cost.total': 2.685e-5, 'llm.cost.input': 2.85e-6, 'llm.cost.output': 2.4e-5 })
  req.end()
  server.setAttribute('http.response.status_code', 200)
  server.end()
}
// Batches of 11 requests, as under load.
const writer = new RecordWriter()
const batches: Uint8Array[] = []
for (let b = 0; b < 2000; b++) {
  for (let r = 0; r < 11; r++) request(b * 11 + r)
  for (const s of ended.splice(0)) writer.add(s)
  writer.take((bytes: Uint8Array, length: number) => { batches.push(bytes.slice(0, length)); return true })
}
const requests = 2000 * 11
const transport = { export: (_s: unknown, done: (r: { code: number }) => void) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} }
const exporter = new SpanExportProcessor(transport as any, { maxQueueSize: 1 << 20, maxExportBatchSize: 512, scheduledDelayMillis: 5 })
const store = new TraceStore({ maxTraces: 10_000, maxBytes: 64 * 1024 * 1024 })
store.useEncodedSpans(exporter)
const reader = new RecordReader()
const best: number[] = []
const take = (span: any) => { exporter.onEnd(span); store.onEnd(span) }
for (let round = 0; round < 14; round++) {
  const t0 = process.hrtime.bigint()
  for (const batch of batches) reader.batch(batch, take)
  const us = Number(process.hrtime.bigint() - t0) / 1000
  if (round >= 4) best.push(us / requests)
  await new Promise((r) => setTimeout(r, 20))
}
best.sort((a, b) => a - b)
console.log(`min ${best[0]!.toFixed(2)} median ${best[best.length >> 1]!.toFixed(2)} µs a request`)
