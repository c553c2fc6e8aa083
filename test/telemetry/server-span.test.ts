// The HTTP SERVER span the gateway makes itself (src/telemetry/server-span.ts) gives what
// @opentelemetry/instrumentation-http gave: the route's name, the stable HTTP attributes, a query
// without its values, the caller's W3C trace joined, the span the parent of the handler's own (also
// when the body arrives after the headers, from the socket) and ended when the caller hangs up. And never a second
// SERVER span when an HTTP instrumentation makes one: an operator's preloaded SDK, or
// OTEL_NODE_ENABLED_INSTRUMENTATIONS naming `http`.
import t from 'tap'
import { request as httpRequest } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { randomSpanId, randomTraceId, startGateways, traceparent, WAIT_MS } from './helpers.ts'

t.setTimeout(600_000)

const preloadedSdk = fileURLToPath(new URL('./fixtures/my-otel.mjs', import.meta.url))
const own = await startOtlpReceiver()
const instrumented = await startOtlpReceiver()
const operator = await startOtlpReceiver()
const listed = await startOtlpReceiver()
const [gateway, withHttpInstrumentation, preloaded, withPino] = (await startGateways([
  { timeoutMs: 240_000, env: { OTEL_EXPORTER_OTLP_ENDPOINT: own.url } },
  { timeoutMs: 240_000, env: { OTEL_EXPORTER_OTLP_ENDPOINT: instrumented.url, OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,undici' } },
  // The README's own example: NodeSDK with the HTTP and undici instrumentations.
  { timeoutMs: 240_000, nodeArgs: ['--import', preloadedSdk], env: { OTEL_EXPORTER_OTLP_ENDPOINT: operator.url } },
  { timeoutMs: 240_000, env: { OTEL_EXPORTER_OTLP_ENDPOINT: listed.url, OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'undici, pino' } },
])) as [GatewayProcess, GatewayProcess, GatewayProcess, GatewayProcess]
t.teardown(async () => {
  await Promise.all([gateway.stop(), withHttpInstrumentation.stop(), preloaded.stop('SIGKILL'), withPino.stop()])
  await Promise.all([own.close(), instrumented.close(), operator.close(), listed.close()])
})

const hello = JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] })
const SECRET = 'sk-server-span-0123456789'

/** POST /v1/chat/completions?…, joining the caller's trace `traceId`. */
async function chat(baseUrl: string, traceId: string, parentId: string): Promise<Response> {
  return fetch(`${baseUrl}/v1/chat/completions?api_key=${SECRET}&user=me`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'server-span-test/1.0', traceparent: traceparent(traceId, parentId) },
    body: hello,
  })
}

/** The trace's spans once its SERVER span and `llm.request` arrived, and a little after (any second SERVER span too). */
async function traceSpans(receiver: OtlpReceiver, traceId: string): Promise<ReceivedSpan[]> {
  await receiver.waitFor(() => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId)
    return spans.some((s) => s.kind === 'SERVER') && spans.some((s) => s.name === 'llm.request')
  }, WAIT_MS)
  // Spans of one request end within milliseconds and are exported every 50 ms.
  await new Promise((resolve) => setTimeout(resolve, 500))
  return receiver.spans.filter((s) => s.traceId === traceId)
}

const servers = (spans: ReceivedSpan[]) => spans.filter((s) => s.kind === 'SERVER')

t.test("the gateway's own SERVER span: name, HTTP attributes, redacted query, the caller's trace", async (t) => {
  const traceId = randomTraceId()
  const parentId = randomSpanId()
  const answer = await chat(gateway.url, traceId, parentId)
  t.equal(answer.status, 200)
  await answer.arrayBuffer()
  t.equal(answer.headers.get('x-trace-id'), traceId, "the answer names the caller's trace")
  const spans = await traceSpans(own, traceId)
  t.equal(servers(spans).length, 1, 'one SERVER span')
  const server = servers(spans)[0]!
  t.equal(server.name, 'POST /v1/chat/completions', 'named after the route template')
  t.equal(server.parentSpanId, parentId, "the child of the caller's span (W3C traceparent)")
  t.equal(server.status.code, 'UNSET')
  const port = Number(new URL(gateway.url).port)
  t.match(server.attributes, {
    'http.route': '/v1/chat/completions',
    'http.request.method': 'POST',
    'http.response.status_code': 200,
    'url.scheme': 'http',
    'url.path': '/v1/chat/completions',
    'url.query': 'api_key=REDACTED&user=REDACTED',
    'server.address': '127.0.0.1',
    'server.port': port,
    'network.protocol.version': '1.1',
    'user_agent.original': 'server-span-test/1.0',
    'client.address': '127.0.0.1',
    'network.peer.address': '127.0.0.1',
  })
  const exported = JSON.stringify(spans, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))
  t.notMatch(exported, SECRET, 'the key sent in the query is in no span')
  const request = spans.find((s) => s.name === 'llm.request')
  t.equal(request?.parentSpanId, server.spanId, 'llm.request is its child')
})

t.test('a body arriving after the headers is still handled under the SERVER span', async (t) => {
  const traceId = randomTraceId()
  const { port } = new URL(gateway.url)
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(hello), traceparent: traceparent(traceId, randomSpanId()) },
    })
    request.on('response', (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
    request.on('error', reject)
    // The gateway has run its first hooks by then; the body comes in a packet of its own.
    request.flushHeaders()
    setTimeout(() => request.end(hello), 300)
  })
  t.equal(answer.status, 200)
  t.equal(JSON.parse(answer.body).trace_context.trace_id, traceId)
  const spans = await traceSpans(own, traceId)
  const server = servers(spans)[0]
  t.equal(spans.find((s) => s.name === 'llm.request')?.parentSpanId, server?.spanId, 'llm.request is the child of the SERVER span')
})

t.test('a caller hanging up before the answer: the SERVER span still ends and is exported', async (t) => {
  const traceId = randomTraceId()
  const { port } = new URL(gateway.url)
  const request = httpRequest({
    host: '127.0.0.1',
    port,
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(hello) + 10, traceparent: traceparent(traceId, randomSpanId()) },
  })
  request.on('error', () => {})
  request.write(hello.slice(0, 10))
  setTimeout(() => request.destroy(), 300)
  const [server] = await own.waitForSpans((s) => s.traceId === traceId && s.kind === 'SERVER', 1, WAIT_MS)
  t.equal(server?.name, 'POST /v1/chat/completions')
})

t.test('OTEL_NODE_ENABLED_INSTRUMENTATIONS with http: its SERVER span, shaped alike, and no second one', async (t) => {
  const traceId = randomTraceId()
  const parentId = randomSpanId()
  const answer = await chat(withHttpInstrumentation.url, traceId, parentId)
  t.equal(answer.status, 200)
  await answer.arrayBuffer()
  const spans = await traceSpans(instrumented, traceId)
  t.equal(servers(spans).length, 1, 'one SERVER span')
  const server = servers(spans)[0]!
  t.equal(server.scope.name, '@opentelemetry/instrumentation-http', "the instrumentation's")
  t.equal(server.name, 'POST /v1/chat/completions')
  t.equal(server.parentSpanId, parentId)
  t.match(server.attributes, { 'http.route': '/v1/chat/completions', 'http.response.status_code': 200, 'url.query': 'api_key=REDACTED&user=REDACTED' })
  t.equal(spans.find((s) => s.name === 'llm.request')?.parentSpanId, server.spanId, 'llm.request is its child')
})

t.test('OTEL_NODE_ENABLED_INSTRUMENTATIONS naming others without http: the operator is told they stay outside the request traces', async (t) => {
  // The gateway hands a request's context to its own spans instead of entering it (server-span.ts):
  // pino's log fields, ioredis' spans … would not join the request's trace, and nothing else says so.
  const unjoined = /OTEL_NODE_ENABLED_INSTRUMENTATIONS names (.*) without http/
  const warned = withPino.logs().filter((line) => unjoined.test(String(line.msg)))
  t.equal(warned.length, 1, 'one warning at start-up')
  t.equal(unjoined.exec(String(warned[0]?.msg))?.[1], 'pino', 'naming pino, not undici (whose fetches the gateway traces itself)')
  t.equal(warned[0]?.level, 40, 'at warn')
  t.notOk(withHttpInstrumentation.logs().some((line) => unjoined.test(String(line.msg))), 'no warning when the list names http')
  t.notOk(gateway.logs().some((line) => unjoined.test(String(line.msg))), 'nor without a list')
})

t.test('an operator SDK preloaded with the HTTP instrumentation: its SERVER span, no second one', async (t) => {
  const traceId = randomTraceId()
  const parentId = randomSpanId()
  const answer = await chat(preloaded.url, traceId, parentId)
  t.equal(answer.status, 200)
  await answer.arrayBuffer()
  // The example's batch waits 5 s: the exit flush sends everything now.
  t.equal(await preloaded.stop('SIGTERM'), 0, 'exit 0')
  const spans = await traceSpans(operator, traceId)
  t.equal(servers(spans).length, 1, 'one SERVER span')
  const server = servers(spans)[0]!
  t.equal(server.scope.name, '@opentelemetry/instrumentation-http', "the operator's instrumentation's")
  t.equal(server.name, 'POST /v1/chat/completions', 'named after the route all the same')
  t.equal(server.parentSpanId, parentId)
  t.equal(spans.find((s) => s.name === 'llm.request')?.parentSpanId, server.spanId, 'llm.request is its child')
})
