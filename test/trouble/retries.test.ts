// SPEC §4: upstream 429/5xx/connection errors before the first byte are retried (backoff with
// jitter, retry-after honoured) up to UPSTREAM_MAX_RETRIES; after the first streamed byte nothing
// is retried and the stream ends with an SSE error event.
import t from 'tap'
import OpenAI from 'openai'
import { startGateway } from '../support/gateway.ts'
import { openaiStreamChunks, sseEvents, startUpstream } from '../support/upstream.ts'
import { expectError } from '../http/error-shape.ts'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(120_000)

const upstream = await startUpstream()
const withRetries = (retries: string) =>
  startGateway({ timeoutMs: 30_000, env: { OPENAI_API_KEY: 'sk-test-x', OPENAI_BASE_URL: upstream.openaiBaseURL, UPSTREAM_MAX_RETRIES: retries } })
const [gateway, noRetries] = await Promise.all([withRetries('2'), withRetries('0')])
t.teardown(async () => {
  await Promise.all([gateway.stop(), noRetries.stop()])
  await upstream.close()
})
t.beforeEach(() => upstream.reset())

const messages = [{ role: 'user' as const, content: 'Tell me a joke' }]
const rateLimited = (headers: Record<string, string>) => ({
  status: 429,
  headers,
  json: { error: { message: 'Rate limit reached for gpt-4o-mini on requests per min', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
})
const serverError = (status: number) => ({
  status,
  // A short retry-after-ms keeps the persistent-failure cases fast; the backoff itself is
  // checked in the 500 → 503 → 200 case, which sends none.
  headers: { 'retry-after-ms': '10' },
  json: { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } },
})

function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

t.test('429 with retry-after: 1, then success: the caller gets 200, retried after the wait', async (t) => {
  upstream.enqueue(rateLimited({ 'retry-after': '1' }), { fixture: 'openai-chat-text-nonstream' })
  const completion = await gateway.client().chat.completions.create({ model: 'gpt-4o-mini', messages })
  t.match(completion.choices[0]?.message.content, /opentelemetry developer/)
  t.equal(upstream.requests.length, 2, 'the upstream saw the first try and one retry')
  const gap = upstream.requests[1]!.receivedAt - upstream.requests[0]!.receivedAt
  t.ok(gap >= 950, `the retry waited for retry-after (1 s): ${gap} ms`)
  t.ok(gap < 5000, `and not much longer: ${gap} ms`)
})

t.test('500 then 503 then success: 200 after 3 requests, with growing backoff', async (t) => {
  const plain = (status: number) => ({ status, json: { error: { message: 'overloaded', type: 'server_error', param: null, code: null } } })
  upstream.enqueue(plain(500), plain(503), { fixture: 'openai-chat-text-nonstream' })
  const response = await post(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(response.status, 200)
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> }
  t.match(body.choices[0]?.message.content, /opentelemetry developer/)
  t.equal(upstream.requests.length, 3)
  const [a, b, c] = upstream.requests.map((r) => r.receivedAt) as [number, number, number]
  t.ok(b - a >= 250, `a backoff before the first retry: ${b - a} ms`)
  t.ok(c - b >= b - a, `the second backoff is not shorter than the first: ${b - a} ms, then ${c - b} ms`)
})

t.test('persistent 429: the caller gets 429 with retry-after forwarded, after the retries', async (t) => {
  upstream.setDefault(rateLimited({ 'retry-after': '7', 'retry-after-ms': '10' }))
  const response = await post(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(response.headers.get('retry-after'), '7', 'retry-after passed on to the caller')
  await expectError(t, response, { status: 429, type: 'rate_limit_error', message: /Rate limit reached/ })
  t.equal(upstream.requests.length, 3, 'one try and UPSTREAM_MAX_RETRIES=2 retries')
})

t.test('the OpenAI SDK sees the 429 as a RateLimitError', async (t) => {
  upstream.setDefault(rateLimited({ 'retry-after': '7', 'retry-after-ms': '10' }))
  const error = await gateway
    .client()
    .chat.completions.create({ model: 'gpt-4o-mini', messages })
    .then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof OpenAI.RateLimitError, `RateLimitError, got ${String(error)}`)
})

t.test('persistent 500: 502 in the OpenAI error shape, after 3 requests', async (t) => {
  upstream.setDefault(serverError(500))
  const response = await post(gateway.url, { model: 'gpt-4o-mini', messages })
  const body = await expectError(t, response, { status: 502, type: 'api_error' })
  t.match(body.error.message, /server had an error/, 'the upstream message is passed on')
  t.notMatch(JSON.stringify(body), /sk-test-x/, 'the upstream key is not')
  t.equal(upstream.requests.length, 3)
})

t.test('a connection reset before the headers is retried: 200', async (t) => {
  upstream.enqueue({ resetBeforeHeaders: true }, { fixture: 'openai-chat-text-nonstream' })
  const response = await post(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(response.status, 200)
  t.equal(upstream.requests.length, 2)
})

t.test('a streaming request whose upstream answers 503 first is retried before the first byte', async (t) => {
  upstream.enqueue(serverError(503), { fixture: 'openai-chat-text-stream-include-usage' })
  const response = await post(gateway.url, { model: 'gpt-4o-mini', messages, stream: true })
  t.equal(response.status, 200)
  const text = await response.text()
  t.ok(text.endsWith('data: [DONE]\n\n'), 'a complete stream')
  t.match(openaiStreamChunks(text).map((c) => c.choices[0]?.delta.content ?? '').join(''), /15/)
  t.equal(upstream.requests.length, 2)
})

t.test('UPSTREAM_MAX_RETRIES=0: a 500 is a 502 after exactly one request', async (t) => {
  upstream.setDefault(serverError(500))
  const response = await post(noRetries.url, { model: 'gpt-4o-mini', messages })
  await expectError(t, response, { status: 502, type: 'api_error' })
  t.equal(upstream.requests.length, 1)
})

t.test('UPSTREAM_MAX_RETRIES=0: a 429 goes straight back to the caller', async (t) => {
  upstream.setDefault(rateLimited({ 'retry-after': '3' }))
  const response = await post(noRetries.url, { model: 'gpt-4o-mini', messages })
  t.equal(response.headers.get('retry-after'), '3')
  await expectError(t, response, { status: 429, type: 'rate_limit_error' })
  t.equal(upstream.requests.length, 1)
})

t.test('a stream cut after its first bytes is not retried; the caller sees an error', async (t) => {
  const cut = { fixture: 'openai-chat-text-stream-include-usage', resetAfterBytes: 600 }
  // Each case serves a complete stream once the cut one is used: were the gateway to retry,
  // the failure would disappear and the request count would be 2.

  t.test('read with the OpenAI SDK, the stream raises', async (t) => {
    upstream.setDefault({ fixture: 'openai-chat-text-stream-include-usage' })
    upstream.enqueue(cut)
    const stream = await gateway.client().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })
    const seen: string[] = []
    const error = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '')
    })().then(() => undefined, (e: unknown) => e)
    t.ok(error instanceof OpenAI.APIError, `the iteration throws an APIError, got ${String(error)}`)
    t.ok(seen.length >= 1, 'after the chunks that did arrive')
    t.equal(upstream.requests.length, 1, 'exactly one upstream request')
  })

  t.test('read raw, the SSE ends with an error event carrying trace_context, and no [DONE]', async (t) => {
    upstream.setDefault({ fixture: 'openai-chat-text-stream-include-usage' })
    upstream.enqueue(cut)
    const response = await post(gateway.url, { model: 'gpt-4o-mini', messages, stream: true })
    t.equal(response.status, 200, 'the stream had started: the status was already sent')
    const text = await response.text()
    const events = sseEvents(text)
    t.notOk(events.some((e) => e.data === '[DONE]'), 'no [DONE]')
    const last = JSON.parse(events.at(-1)?.data ?? '{}') as {
      error?: { message: string; type: string; code: string | null }
      trace_context?: { trace_id: string; span_id: string }
    }
    t.ok(last.error, 'the last event is an error')
    t.equal(typeof last.error?.message, 'string')
    t.equal(typeof last.error?.type, 'string')
    t.equal(last.trace_context?.trace_id, response.headers.get('x-trace-id'), 'with the trace id of the request')
    t.equal(last.trace_context?.span_id, response.headers.get('x-span-id'))
    t.ok(events.length >= 2, 'the chunks before the cut were forwarded')
    t.equal(upstream.requests.length, 1, 'exactly one upstream request')
  })
})
