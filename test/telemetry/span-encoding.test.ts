// The gateway encodes its spans itself (src/telemetry/otlp-span-encoder.ts) instead of handing
// them to the SDK's OTLP/protobuf exporter: what reaches the collector must be what that exporter
// sends, byte for byte, for every kind of field a span can carry.
import t from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, createTraceState, trace, type Attributes, type Context, type Span } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { TracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { SpanBatch } from '../../src/telemetry/otlp-span-batch.ts'
import { SpanEncoder } from '../../src/telemetry/otlp-span-encoder.ts'
import { ProtoWriter } from '../../src/telemetry/protobuf.ts'
import { EncodedSpanExporter, SpanExportProcessor } from '../../src/telemetry/span-export.ts'
import { decodeTraceRequest } from '../support/otlp-proto.ts'

/** A collector that keeps each request's raw body and content type. */
const received: { body: Buffer; contentType: string | undefined }[] = []
const collector = createServer((request: IncomingMessage, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    received.push({ body: Buffer.concat(chunks), contentType: request.headers['content-type'] })
    response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
  })
})
await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
t.teardown(() => collector.close())
const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`

/** Spans of every shape: three scopes interleaved, remote parents, events, links, limits, unicode, long values. */
function makeSpans(): ReadableSpan[] {
  const ended: ReadableSpan[] = []
  const collect: SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => void ended.push(span),
    forceFlush: async () => {},
    shutdown: async () => {},
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sik-llms-gateway', 'host.name': 'høst', 'process.pid': 4242 }),
    spanLimits: { attributeCountLimit: 40, eventCountLimit: 3, linkCountLimit: 2 },
    spanProcessors: [collect],
  })
  const http = provider.getTracer('@opentelemetry/instrumentation-http', '0.301.0')
  const gateway = provider.getTracer('sik-llms-gateway')
  const undici = provider.getTracer('@opentelemetry/instrumentation-undici', '0.20.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' })
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'B7AD6B7169203331',
    traceFlags: 1,
    isRemote: true,
    traceState: createTraceState('vendor=a1,other=b2'),
  })
  const within = (span: Span): Context => trace.setSpan(ROOT_CONTEXT, span)
  for (let request = 0; request < 80; request++) {
    const server = http.startSpan('POST /v1/chat/completions', {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'POST', 'url.path': '/v1/chat/completions', 'server.port': 8080, 'request.n': request },
    }, request % 2 ? remote : ROOT_CONTEXT)
    const call = gateway.startSpan('llm.request', { attributes: requestAttributes(request) }, within(server))
    const client = undici.startSpan('POST', {
      kind: SpanKind.CLIENT,
      links: [{ context: server.spanContext(), attributes: { reason: 'retry' } }, { context: remote ? trace.getSpanContext(remote)! : server.spanContext() }],
    }, within(call))
    client.setAttributes({ 'http.response.status_code': 200, 'url.full': `http://127.0.0.1:${8000 + request}/v1/chat/completions` })
    client.end()
    call.addEvent('first chunk', { 'gen_ai.output.tokens': request })
    call.addEvent('no attributes')
    if (request % 5 === 0) call.recordException(new Error('upstream said: ünavailable'))
    call.setStatus(request % 5 === 0 ? { code: SpanStatusCode.ERROR, message: 'upstream 503' } : { code: SpanStatusCode.OK })
    call.end()
    server.setStatus({ code: SpanStatusCode.UNSET })
    server.end()
  }
  const crowded = gateway.startSpan('crowded', { kind: SpanKind.PRODUCER })
  for (let i = 0; i < 50; i++) crowded.setAttribute(`key.${i}`, i)
  for (let i = 0; i < 5; i++) crowded.addEvent(`event ${i}`)
  crowded.end()
  gateway.startSpan('consumer', { kind: SpanKind.CONSUMER, attributes: { big: 'x'.repeat(20_000), emoji: '😀'.repeat(100) } }).end()
  return ended
}

function requestAttributes(request: number): Attributes {
  return {
    'gen_ai.request.model': request % 3 ? 'gpt-4o-mini' : 'claude-sonnet-4',
    'gen_ai.provider.name': request % 3 ? 'openai' : 'anthropic',
    // More distinct values than the encoder caches per key.
    'llm.user.id': `user-${request}`,
    'gen_ai.request.temperature': 0.7,
    'gen_ai.request.max_tokens': 1024,
    'llm.cost.usd': request * 0.000125,
    'llm.big.int': 2 ** 40 + request,
    'llm.negative': -request - 1,
    'llm.negative.big': -(2 ** 40) - request,
    'llm.not.finite': request % 2 ? Infinity : NaN,
    'llm.demo': request % 2 === 0,
    'llm.omitted': ['messages', 'tools', `part ${request}`],
    'llm.flags': [true, false],
    'llm.counts': [1, 2.5, -3],
    'gen_ai.input.messages': JSON.stringify([{ role: 'user', content: `Hello ${'wörld '.repeat(request)}` }]),
    'llm.route': '/v1/chat/completions',
  }
}

/** What the SDK's OTLPTraceExporter posts for these spans. */
async function sdkRequest(spans: ReadableSpan[]): Promise<Buffer> {
  received.length = 0
  const exporter = new OTLPTraceExporter({ url })
  await new Promise<void>((resolve, reject) => exporter.export(spans, (result) => (result.error ? reject(result.error) : resolve())))
  await exporter.shutdown()
  return received[0]!.body
}

function encodeBatch(encoder: SpanEncoder, spans: ReadableSpan[]): Buffer {
  const batch = new SpanBatch(new ProtoWriter(256))
  for (const span of spans) batch.add(encoder, span)
  return Buffer.from(batch.request(encoder))
}

const spans = makeSpans()

t.test('a batch is encoded exactly as the SDK serialises it', async (t) => {
  const expected = await sdkRequest(spans)
  const encoder = new SpanEncoder()
  const first = encodeBatch(encoder, spans)
  t.same(decodeTraceRequest(first), decodeTraceRequest(expected), 'field for field')
  t.ok(first.equals(expected), `byte for byte (${first.length} bytes)`)
  // The second time the keys and repeated key=value pairs come from the encoder's cache.
  t.ok(encodeBatch(encoder, spans).equals(expected), 'byte for byte again, from the caches')
  for (const size of [1, 7, 64]) {
    const part = spans.slice(size, size * 2)
    t.ok(encodeBatch(encoder, part).equals(await sdkRequest(part)), `a batch of ${part.length} spans`)
  }
})

t.test('the processor posts that request to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as application/x-protobuf', async (t) => {
  const expected = await sdkRequest(spans.slice(0, 100))
  const saved = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = url
  t.teardown(() => {
    if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    else process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = saved
  })
  received.length = 0
  const processor = new SpanExportProcessor(new EncodedSpanExporter(), { maxExportBatchSize: 512, scheduledDelayMillis: 60_000 })
  for (const span of spans.slice(0, 100)) processor.onEnd(span)
  await processor.shutdown()
  t.equal(received.length, 1, 'one request')
  t.equal(received[0]?.contentType, 'application/x-protobuf')
  t.ok(received[0]?.body.equals(expected), 'the SDK exporter’s bytes')
})
