// The `POST` CLIENT span of each upstream call (SPEC §2.1), made by the gateway where it sends the
// request (src/telemetry/client-span.ts): exactly one per attempt, the child of that attempt's
// provider span, with the HTTP attributes and status the undici instrumentation gave it, ended
// with the body (a stream's covers the stream), and its traceparent — only that — at the upstream.
// The undici instrumentation still traces the other fetches (an MCP tool server's), and an
// operator's preloaded SDK with its own undici instrumentation still gets one span per call.
// Propagators without tracecontext (b3): the gateway makes no POST span, the instrumentation does,
// from the start (it waits for an MCP tool server only when the gateway makes them).
import t from 'tap'
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startHttpMcpServer } from '../agent/fixtures/mcp-http-server.ts'
import { openaiTurn, postAgent } from '../agent/helpers.ts'
import type { GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { providerEnv, startUpstream, type RecordedRequest } from '../support/upstream.ts'
import { isUpstreamHttpSpan, postChat, randomSpanId, randomTraceId, startGateways, traceparent, WAIT_MS } from './helpers.ts'

// Real gateway processes: on a loaded machine start-up alone can take minutes.
t.setTimeout(600_000)
const STARTUP_MS = 240_000

/** An MCP tool server behind a proxy that keeps the headers of each request it passes on. */
const mcp = await startHttpMcpServer()
const mcpHeaders: IncomingHttpHeaders[] = []
const mcpProxy = createServer((req, res) => {
  mcpHeaders.push(req.headers)
  const onward = httpRequest(`${mcp.origin}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers)
    answer.pipe(res)
  })
  req.pipe(onward)
})
await new Promise<void>((resolve) => mcpProxy.listen(0, '127.0.0.1', resolve))
const mcpProxyPort = (mcpProxy.address() as AddressInfo).port

const dir = mkdtempSync(join(tmpdir(), 'client-span-'))
const toolsConfig = join(dir, 'tools.json')
writeFileSync(toolsConfig, JSON.stringify({ mcpServers: { remote: { url: `http://127.0.0.1:${mcpProxyPort}/mcp`, startTimeoutMs: 60_000 } } }))

const receiver = await startOtlpReceiver()
const operatorReceiver = await startOtlpReceiver()
const upstream = await startUpstream({ seed: 15 })
const operatorUpstream = await startUpstream({ seed: 16 })
const myOtel = fileURLToPath(new URL('./fixtures/my-otel.mjs', import.meta.url))
const b3Upstream = await startUpstream({ seed: 17 })
const [gateway, preloaded, b3Gateway] = (await startGateways([
  {
    timeoutMs: STARTUP_MS,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, GATEWAY_TOOLS_CONFIG: toolsConfig, UPSTREAM_MAX_RETRIES: '2', ...providerEnv(upstream) },
  },
  {
    // The README's my-otel.mjs: the operator's NodeSDK with their own UndiciInstrumentation.
    timeoutMs: STARTUP_MS,
    nodeArgs: ['--import', myOtel],
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: operatorReceiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', ...providerEnv(operatorUpstream) },
  },
  {
    // No MCP tool server: nothing else for the undici instrumentation to trace.
    timeoutMs: STARTUP_MS,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_PROPAGATORS: 'b3', ...providerEnv(b3Upstream) },
  },
])) as [GatewayProcess, GatewayProcess, GatewayProcess]
t.teardown(async () => {
  await Promise.all([gateway.stop(), preloaded.stop(), b3Gateway.stop()])
  await Promise.all([receiver.close(), operatorReceiver.close(), upstream.close(), operatorUpstream.close(), b3Upstream.close(), mcp.close()])
  await new Promise((resolve) => mcpProxy.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

const upstreamPort = Number(new URL(upstream.url).port)
const CALLER_TRACESTATE = 'caller=secret-vendor-data'

/** Waits until `traceId` holds the SERVER span, `llm.request` and `providers` provider spans, each with its children in. */
async function traceOf(traceId: string, providers: number, from = receiver): Promise<ReceivedSpan[]> {
  await from.waitFor(() => {
    const spans = from.spans.filter((s) => s.traceId === traceId)
    const attempts = spans.filter((s) => /^llm\.[^.]+\.(chat|stream)$/.test(s.name)).length
    return spans.some((s) => s.kind === 'SERVER') && spans.some((s) => s.name === 'llm.request') && attempts >= providers && spans.length >= 2 + 2 * providers
  }, WAIT_MS)
  await new Promise((resolve) => setTimeout(resolve, 200)) // a doubled span would show up now
  return from.spans.filter((s) => s.traceId === traceId)
}

/** The provider attempt spans of a trace in the order they ran, each with the POST spans under it. */
function attempts(spans: ReceivedSpan[]): Array<{ provider: ReceivedSpan; posts: ReceivedSpan[] }> {
  return spans
    .filter((s) => /^llm\.[^.]+\.(chat|stream)$/.test(s.name))
    .sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1))
    .map((provider) => ({ provider, posts: spans.filter((s) => s.parentSpanId === provider.spanId) }))
}

function sentBy(span: ReceivedSpan, requests: RecordedRequest[]): RecordedRequest | undefined {
  return requests.find((r) => r.headers.traceparent === traceparent(span.traceId, span.spanId))
}

t.test('JSON: one POST under the provider span, its attributes, and only its traceparent upstream', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const traceId = randomTraceId()
  const answer = await postChat(
    gateway.url,
    { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] },
    { traceparent: traceparent(traceId, randomSpanId()), tracestate: CALLER_TRACESTATE, baggage: 'user=alice' },
  )
  t.equal(answer.status, 200)
  const spans = await traceOf(traceId, 1)
  const [attempt] = attempts(spans)
  t.equal(spans.filter(isUpstreamHttpSpan).length, 1, 'exactly one POST span in the trace')
  t.equal(attempt?.posts.length, 1, 'and it is the child of the provider span')
  const post = attempt!.posts[0]!
  t.match(post, { name: 'POST', kind: 'CLIENT' })
  t.same(
    {
      method: post.attributes['http.request.method'],
      url: post.attributes['url.full'],
      address: post.attributes['server.address'],
      port: post.attributes['server.port'],
      status: post.attributes['http.response.status_code'],
    },
    { method: 'POST', url: `${upstream.openaiBaseURL}/chat/completions`, address: '127.0.0.1', port: upstreamPort, status: 200 },
    'the HTTP attributes of the exchange',
  )
  t.notOk('error.type' in post.attributes, 'no error.type on success')
  t.not(post.status.code, 'ERROR')
  t.ok(post.endTimeUnixNano <= attempt!.provider.endTimeUnixNano, 'it ends within its provider span')

  const sent = upstream.requests.at(-1)!
  t.equal(sent.headers.traceparent, traceparent(traceId, post.spanId), 'the upstream gets the traceparent of the POST span')
  t.equal(sent.headers.tracestate, undefined, 'not the caller\'s tracestate')
  t.equal(sent.headers.baggage, undefined, 'nor its baggage')
})

t.test('stream: the POST span covers the whole stream', async (t) => {
  upstream.enqueue({ fixture: 'anthropic-messages-cache-write-stream' })
  const answer = await postChat(gateway.url, {
    model: 'claude-3-5-sonnet-20240620',
    stream: true,
    max_tokens: 1024,
    messages: [{ role: 'user', content: 'Summarise these articles' }],
  })
  t.equal(answer.status, 200)
  const traceId = answer.headers.get('x-trace-id') ?? ''
  const spans = await traceOf(traceId, 1)
  const [attempt] = attempts(spans)
  t.equal(spans.filter(isUpstreamHttpSpan).length, 1, 'exactly one POST span')
  const post = attempt!.posts[0]!
  t.equal(post.attributes['http.response.status_code'], 200)
  t.equal(post.attributes['url.full'], `${upstream.anthropicBaseURL}/v1/messages`)
  const request = spans.find((s) => s.name === 'llm.request')!
  const firstToken = request.startTimeUnixNano + BigInt(Math.round(Number(request.attributes['llm.time_to_first_token']) * 1e9))
  t.ok(post.endTimeUnixNano > firstToken, 'it ends after the first token, not when the headers came')
  t.ok(post.endTimeUnixNano <= attempt!.provider.endTimeUnixNano, 'and within its provider span')
  t.equal(sentBy(post, upstream.requests)?.path, '/v1/messages', 'the upstream got its traceparent')
})

t.test('a failed connection and a 500, then an answer: one POST per attempt, each saying how it went', async (t) => {
  upstream.enqueue({ resetBeforeHeaders: true }, { status: 500, json: { error: { message: 'boom' } } }, { fixture: 'openai-chat-text-nonstream' })
  const answer = await postChat(gateway.url, { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(answer.status, 200, 'the third attempt answered')
  const traceId = answer.headers.get('x-trace-id') ?? ''
  const spans = await traceOf(traceId, 3)
  const tries = attempts(spans)
  t.same(tries.map((a) => a.posts.length), [1, 1, 1], 'each attempt has exactly one POST span')
  t.equal(spans.filter(isUpstreamHttpSpan).length, 3, 'and there are no others')
  const [reset, failed, ok] = tries.map((a) => a.posts[0]!)

  t.equal(reset!.status.code, 'ERROR', 'a connection cut before the headers: ERROR')
  t.match(reset!.attributes['error.type'], /^(?!\d)\S+$/, 'with the transport error\'s code as error.type')
  t.notOk('http.response.status_code' in reset!.attributes, 'and no status code')
  t.same(reset!.events, [], 'and no exception event with a stack trace (SPEC §2.1: no span events)')

  t.equal(failed!.status.code, 'ERROR', 'a 500: ERROR')
  t.equal(failed!.attributes['http.response.status_code'], 500)
  t.equal(failed!.attributes['error.type'], '500')

  t.not(ok!.status.code, 'ERROR')
  t.equal(ok!.attributes['http.response.status_code'], 200)
  for (const post of [reset!, failed!, ok!]) t.ok(sentBy(post, upstream.requests), `the upstream got the traceparent of ${post.spanId}`)
})

t.test('an unsampled caller: no POST span exported, a traceparent in its trace still sent', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const traceId = randomTraceId()
  const parentId = randomSpanId()
  const answer = await postChat(
    gateway.url,
    { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] },
    { traceparent: traceparent(traceId, parentId, false) },
  )
  t.equal(answer.status, 200)
  const sent = upstream.requests.at(-1)!.headers.traceparent
  t.match(sent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`), 'the upstream is told the trace, unsampled')
  t.not(sent, traceparent(traceId, parentId, false), 'under a span of the gateway')
  // A sampled request afterwards: once its spans are in, the unsampled one's would have been too.
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const later = await postChat(gateway.url, { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
  await traceOf(later.headers.get('x-trace-id') ?? '', 1)
  t.same(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name), [], 'nothing of that trace exported')
})

t.test('an MCP tool server\'s fetch is still traced by the undici instrumentation', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [{ id: 'call_mul', name: 'remote__multiply', arguments: JSON.stringify({ a: 6, b: 7 }) }] }),
    openaiTurn({ content: '42' }),
  )
  const before = mcpHeaders.length
  const { status, headers } = await postAgent(gateway.url, {
    model: 'gpt-4o-mini',
    tools: ['remote__multiply'],
    messages: [{ role: 'user', content: 'Multiply 6 by 7.' }],
  })
  t.equal(status, 200)
  const traceId = headers.get('x-trace-id') ?? ''
  const toolServer = (s: ReceivedSpan) => s.traceId === traceId && isUpstreamHttpSpan(s) && s.attributes['server.port'] === mcpProxyPort
  const [fetchSpan] = await receiver.waitForSpans(toolServer, 1, WAIT_MS)
  t.equal(fetchSpan!.scope.name, '@opentelemetry/instrumentation-undici', 'the tool call\'s POST, in the run\'s trace')
  const propagated = mcpHeaders.slice(before).map((h) => h.traceparent)
  t.ok(propagated.includes(traceparent(traceId, fetchSpan!.spanId)), 'the tool server got its traceparent')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const upstreamPosts = receiver.spans.filter((s) => s.traceId === traceId && isUpstreamHttpSpan(s) && s.attributes['server.port'] === upstreamPort)
  t.equal(upstreamPosts.length, 2, 'and each of the two model calls has one POST span, not two')
})

t.test('a preloaded SDK with its own undici instrumentation: still one POST per call, and its traceparent', async (t) => {
  operatorUpstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const answer = await postChat(preloaded.url, { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(answer.status, 200)
  const traceId = answer.headers.get('x-trace-id') ?? ''
  const spans = await traceOf(traceId, 1, operatorReceiver)
  const [attempt] = attempts(spans)
  t.equal(spans.filter(isUpstreamHttpSpan).length, 1, 'exactly one POST span')
  t.equal(attempt?.posts.length, 1, 'under the provider span')
  const post = attempt!.posts[0]!
  t.equal(post.scope.name, '@opentelemetry/instrumentation-undici', 'the operator\'s instrumentation made it')
  t.equal(operatorUpstream.requests.at(-1)?.headers.traceparent, traceparent(traceId, post.spanId), 'and the upstream got its traceparent')
})

t.test('propagators without tracecontext (b3): the undici instrumentation makes the POST span, and the upstream gets its b3', async (t) => {
  b3Upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const answer = await postChat(b3Gateway.url, { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(answer.status, 200)
  const traceId = answer.headers.get('x-trace-id') ?? ''
  const spans = await traceOf(traceId, 1)
  const [attempt] = attempts(spans)
  t.equal(spans.filter(isUpstreamHttpSpan).length, 1, 'exactly one POST span')
  t.equal(attempt?.posts.length, 1, 'under the provider span')
  const post = attempt!.posts[0]!
  t.equal(post.scope.name, '@opentelemetry/instrumentation-undici', 'made by the instrumentation')
  const sent = b3Upstream.requests.at(-1)!
  t.equal(sent.headers.b3, `${traceId}-${post.spanId}-1`, 'the upstream gets the b3 header of the POST span')
  t.equal(sent.headers.traceparent, undefined, 'and no traceparent')
})
