// POST /v1/messages to Anthropic: a passthrough. The official Anthropic SDK pointed at the
// gateway gets what Anthropic sent (plus the gateway's documented additions), the caller's
// anthropic-version and anthropic-beta go on, its key does not, and errors come in Anthropic's
// shape with trace_context.
import t from 'tap'
import Anthropic from '@anthropic-ai/sdk'
import { startObservedGateway, WAIT_MS } from '../telemetry/helpers.ts'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import { loadFixture } from '../support/fixtures.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { randomSpanId, randomTraceId, traceparent } from '../telemetry/helpers.ts'

t.setTimeout(180_000)

const { gateway, receiver, upstream } = await startObservedGateway(t, { GATEWAY_API_KEYS: 'gw-key-1' })
t.beforeEach(() => upstream.reset())
const client = new Anthropic({ baseURL: gateway.url, apiKey: 'gw-key-1', maxRetries: 0 })

t.test('messages.create: the recorded Message comes back, the caller key stays home, headers pass on', async (t) => {
  upstream.enqueue(jsonReply('anthropic-messages-cache-read-nonstream'))
  const recorded = JSON.parse(loadFixture('anthropic-messages-cache-read-nonstream').response.body) as Record<string, unknown>
  const { data: message, response } = await client.messages
    .create(
      { model: 'claude-3-5-sonnet-20240620', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: '{"session":"s1"}' } },
      { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31', 'anthropic-version': '2023-06-01-test' } },
    )
    .withResponse()
  const { trace_context: context, usage, ...rest } = message as unknown as Record<string, unknown> & { usage: Record<string, unknown> }
  const { cost_usd: cost, ...recordedUsage } = usage
  t.same({ ...rest, usage: recordedUsage }, recorded, 'the Message as Anthropic sent it')
  t.type(cost, 'number', 'plus usage.cost_usd')
  t.same(context, { trace_id: response.headers.get('x-trace-id'), span_id: response.headers.get('x-span-id') }, 'and trace_context')
  const sent = upstream.requests[0]!
  t.equal(sent.path, '/v1/messages')
  t.equal(sent.headers['x-api-key'], 'sk-ant-test', "the gateway's Anthropic key, not the caller's")
  t.equal(sent.headers['anthropic-beta'], 'prompt-caching-2024-07-31', 'anthropic-beta passed on')
  t.equal(sent.headers['anthropic-version'], '2023-06-01-test', "the caller's anthropic-version, not the gateway's default")
  t.notOk(JSON.stringify(sent.headers).includes('gw-key-1'), 'the caller key is not forwarded')
  const [span] = await receiver.waitForSpans((s) => s.traceId === response.headers.get('x-trace-id') && s.name === 'llm.request', 1, WAIT_MS)
  t.equal(span!.attributes['user.id'], '{"session":"s1"}', 'metadata.user_id on the span')
  t.equal(span!.attributes['llm.api'], 'messages')
  t.equal(span!.attributes['gen_ai.usage.cache_read.input_tokens'], 1163, 'cache reads on the span')
})

t.test('messages.stream: events as Anthropic sent them, finalMessage with real usage, trace_context on message_stop', async (t) => {
  upstream.enqueue(sseReply('anthropic-messages-cache-write-stream'))
  const stream = client.messages.stream({ model: 'claude-3-5-sonnet-20240620', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
  const types: string[] = []
  let stop: Record<string, unknown> | undefined
  stream.on('streamEvent', (event) => {
    types.push(event.type)
    if (event.type === 'message_stop') stop = event as unknown as Record<string, unknown>
  })
  const final = await stream.finalMessage()
  t.equal(types[0], 'message_start')
  t.equal(types.at(-1), 'message_stop')
  t.match(final.usage, { input_tokens: 4, output_tokens: 201, cache_creation_input_tokens: 1165 }, 'the cumulative usage')
  t.match(stop, { trace_context: { trace_id: String } })
})

t.test('x-api-key is the gateway key: a wrong one is a 401 in Anthropic\'s shape', async (t) => {
  const wrong = new Anthropic({ baseURL: gateway.url, apiKey: 'nope', maxRetries: 0 })
  const error = await wrong.messages.create({ model: 'claude-3-5-sonnet-20240620', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
  t.ok(error instanceof Anthropic.AuthenticationError, 'the SDK raises its AuthenticationError')
  t.match((error as { error: unknown }).error, { type: 'error', error: { type: 'authentication_error', message: /Unknown gateway API key/ } })
  const bearer = new Anthropic({ baseURL: gateway.url, authToken: 'gw-key-1', apiKey: null, maxRetries: 0 })
  upstream.enqueue(jsonReply('anthropic-messages-text-nonstream'))
  const ok = await bearer.messages.create({ model: 'claude-3-opus-20240229', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
  t.equal(ok.type, 'message', 'Authorization: Bearer (ANTHROPIC_AUTH_TOKEN) works too')
})

t.test("bad input and unknown models: Anthropic's error shape, never a 5xx", async (t) => {
  const missing = await client.messages.create({ model: 'claude-3-5-sonnet-20240620', messages: [{ role: 'user', content: 'hi' }] } as never).catch((e: unknown) => e)
  t.ok(missing instanceof Anthropic.BadRequestError)
  t.match((missing as { error: unknown }).error, { type: 'error', error: { type: 'invalid_request_error', message: /max_tokens/ }, trace_context: Object })
  const unknown = await client.messages.create({ model: 'nope-1', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
  t.ok(unknown instanceof Anthropic.NotFoundError)
  t.match((unknown as { error: unknown }).error, { error: { type: 'not_found_error' } })
  upstream.enqueue({ status: 529, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } })
  const busy = await client.messages.create({ model: 'claude-3-5-sonnet-20240620', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
  t.match((busy as { error: unknown }).error, { error: { type: 'overloaded_error', message: /Overloaded/ } })
})

t.test('count_tokens: passed to Anthropic; a provider without a counting endpoint is a 400 naming the model', async (t) => {
  upstream.enqueue({ status: 200, json: { input_tokens: 42 } })
  const { data: counted, response } = await client.messages
    .countTokens({ model: 'claude-3-5-sonnet-20240620', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse()
  t.equal(counted.input_tokens, 42)
  t.equal(upstream.requests[0]!.path, '/v1/messages/count_tokens')
  // The upstream request's span is the request's child, in the trace the answer names.
  const traceId = response.headers.get('x-trace-id')
  const [server] = await receiver.waitForSpans((s) => s.traceId === traceId && s.kind === 'SERVER', 1, WAIT_MS)
  const [post] = await receiver.waitForSpans((s) => s.traceId === traceId && s.kind === 'CLIENT' && s.name === 'POST', 1, WAIT_MS)
  t.equal(post!.parentSpanId, server!.spanId, 'the count\'s POST span under the SERVER span')
  const refused = await client.messages.countTokens({ model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
  t.ok(refused instanceof Anthropic.BadRequestError)
  t.match((refused as { error: unknown }).error, { error: { type: 'invalid_request_error', message: /demo-chat/ } })
})

t.test('a model name without a price of its own (claude-3-5-haiku-latest) is priced as the model that answered', async (t) => {
  const recorded = JSON.parse(loadFixture('anthropic-messages-text-nonstream').response.body) as Record<string, unknown>
  upstream.enqueue({ status: 200, json: { ...recorded, model: 'claude-3-5-haiku-20241022' } })
  const message = await client.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
  // claude-3-5-haiku: $0.8 / $4 per million: 17 × 0.8 + 137 × 4 = 561.6 µ$
  t.ok(Math.abs(((message.usage as unknown as { cost_usd: number }).cost_usd ?? 0) - 0.0005616) < 1e-12, 'cost_usd from the answering model\'s price')
})

t.test("what no route takes on /v1/messages (wrong method, unknown subpath, bad body) still answers in Anthropic's shape", async (t) => {
  const ask = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
    const response = await fetch(`${gateway.url}${path}`, { method, headers, body })
    return { status: response.status, allow: response.headers.get('allow'), json: (await response.json()) as Record<string, unknown> }
  }
  const key = { 'x-api-key': 'gw-key-1' }
  const get = await ask('GET', '/v1/messages', key)
  t.equal(get.status, 405)
  t.equal(get.allow, 'POST')
  t.match(get.json, { type: 'error', error: { type: 'invalid_request_error', message: /GET is not allowed/ }, trace_context: { trace_id: String } })
  t.notOk('param' in (get.json.error as object), "not OpenAI's shape")
  const count = await ask('GET', '/v1/messages/count_tokens?beta=true', key)
  t.match(count, { status: 405, json: { type: 'error', error: { type: 'invalid_request_error' } } })
  const batches = await ask('POST', '/v1/messages/batches', { ...key, 'content-type': 'application/json' }, '{}')
  t.match(batches, { status: 404, json: { type: 'error', error: { type: 'not_found_error' } } })
  const anonymous = await ask('GET', '/v1/messages', {})
  t.match(anonymous, { status: 401, json: { type: 'error', error: { type: 'authentication_error' }, trace_context: null } })
  const badJson = await ask('POST', '/v1/messages?beta=true', { ...key, 'content-type': 'application/json' }, '{"model":')
  t.match(badJson, { status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: /not valid JSON/ } } })
  const text = await ask('POST', '/v1/messages', { ...key, 'content-type': 'text/plain' }, 'hi')
  t.match(text, { status: 415, json: { type: 'error', error: { type: 'invalid_request_error' } } })
  const chat = await ask('GET', '/v1/chat/completions', key)
  t.match(chat, { status: 405, json: { error: { type: 'invalid_request_error', code: 'method_not_allowed' } } }, 'other routes keep OpenAI\'s shape')
})

t.test('x-api-key and a bearer token both sent (older Anthropic SDKs with both variables set): a gateway key in either lets the caller in', async (t) => {
  const body = JSON.stringify({ model: 'claude-3-opus-20240229', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
  const post = (apiKey: string, token: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/v1/messages`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': apiKey, authorization: `Bearer ${token}`, ...headers } })
  for (const [apiKey, token] of [['gw-key-1', 'some-other-token'], ['sk-ant-real-key', 'gw-key-1']] as const) {
    upstream.enqueue(jsonReply('anthropic-messages-text-nonstream'))
    const response = await post(apiKey, token)
    t.match({ status: response.status, json: await response.json() }, { status: 200, json: { type: 'message' } }, `x-api-key ${apiKey}, bearer ${token}`)
    t.notOk(JSON.stringify(upstream.requests.at(-1)!.headers).match(/gw-key-1|some-other-token|sk-ant-real-key/), 'neither goes upstream')
  }
  const invalidBefore = metricSum(await scrapeMetrics(gateway.url, 'gw-key-1'), 'gateway_requests_unauthenticated_total', { reason: 'invalid' })
  const victim = randomTraceId()
  const refused = await post('wrong-1', 'wrong-2', { traceparent: traceparent(victim, randomSpanId()) })
  t.match(await refused.json(), { type: 'error', error: { type: 'authentication_error' }, trace_context: null }, 'neither a gateway key: 401')
  t.equal(refused.status, 401)
  t.equal(metricSum(await scrapeMetrics(gateway.url, 'gw-key-1'), 'gateway_requests_unauthenticated_total', { reason: 'invalid' }), invalidBefore + 1, 'counted as invalid')
  // A traced request after it: once its server span is in, the 401's would be too.
  upstream.enqueue(jsonReply('anthropic-messages-text-nonstream'))
  const { response } = await client.messages.create({ model: 'claude-3-opus-20240229', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).withResponse()
  await receiver.waitForSpans((s) => s.traceId === response.headers.get('x-trace-id') && s.kind === 'SERVER', 1, WAIT_MS)
  t.equal(receiver.spans.filter((s) => s.traceId === victim).length, 0, 'the 401 left no span (in the trace it named)')
})
