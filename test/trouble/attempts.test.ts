// Retries are visible: every attempt of a model call is its own provider span under the one
// `llm.request` (`llm.attempt` 1, 2, …), whichever API the caller spoke and whichever provider
// answered. The dispatch owns the attempts; no SDK retries behind its back.
import t, { type Test } from 'tap'
import { startObservedGateway, WAIT_MS } from '../telemetry/helpers.ts'
import type { ReceivedSpan } from '../support/otlp-receiver.ts'

t.setTimeout(180_000)

const { gateway, receiver, upstream } = await startObservedGateway(t, { UPSTREAM_MAX_RETRIES: '2', UPSTREAM_TOTAL_TIMEOUT_MS: '5000' })
t.beforeEach(() => upstream.reset())

const rateLimited = {
  status: 429,
  headers: { 'retry-after-ms': '20' },
  json: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
}
const overloaded = {
  status: 529,
  headers: { 'retry-after-ms': '20' },
  json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
}

/** The llm.request of `traceId` and its provider spans, in attempt order. */
async function attemptsOf(traceId: string, providerSpan: string, count: number): Promise<{ request: ReceivedSpan; attempts: ReceivedSpan[] }> {
  const attempts = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === providerSpan, count, WAIT_MS)
  const [request] = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.request', 1, WAIT_MS)
  attempts.sort((a, b) => Number(a.attributes['llm.attempt']) - Number(b.attributes['llm.attempt']))
  return { request: request!, attempts }
}

function checkAttempts(t: Test, request: ReceivedSpan, attempts: ReceivedSpan[], errorType: string): void {
  t.equal(attempts.length, 2, 'two provider spans: the failed attempt and the retry')
  t.same(attempts.map((s) => s.attributes['llm.attempt']), [1, 2], 'numbered by llm.attempt')
  for (const span of attempts) t.equal(span.parentSpanId, request.spanId, `attempt ${span.attributes['llm.attempt']} is a child of the one llm.request`)
  t.equal(attempts[0]!.status.code, 'ERROR', 'the first attempt failed')
  t.equal(attempts[0]!.attributes['error.type'], errorType, `with error.type ${errorType}`)
  t.not(attempts[1]!.status.code, 'ERROR', 'the retry succeeded')
  t.not(request.status.code, 'ERROR', 'and so did the call')
}

t.test('chat: an upstream 429 then 200 is one llm.request with two attempt spans', async (t) => {
  upstream.enqueue(rateLimited, { fixture: 'openai-chat-text-nonstream' })
  const raw = await gateway.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse()
  const traceId = raw.response.headers.get('x-trace-id')!
  t.equal(upstream.requests.length, 2)
  const { request, attempts } = await attemptsOf(traceId, 'llm.openai.chat', 2)
  checkAttempts(t, request, attempts, 'rate_limited')
})

t.test('chat streamed to Claude: an overloaded 529 then a stream is one llm.request with two attempt spans', async (t) => {
  upstream.enqueue(overloaded, { fixture: 'anthropic-messages-text-stream' })
  const stream = await gateway.client().chat.completions.create({ model: 'claude-3-haiku-20240307', messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse()
  let text = ''
  for await (const chunk of stream.data) text += chunk.choices[0]?.delta.content ?? ''
  t.ok(text.length > 0, 'the stream came through')
  t.equal(upstream.requests.length, 2, 'the gateway tried Anthropic twice (the SDK no longer retries behind the dispatch)')
  const { request, attempts } = await attemptsOf(stream.response.headers.get('x-trace-id')!, 'llm.anthropic.stream', 2)
  checkAttempts(t, request, attempts, 'upstream_overloaded')
})

t.test('responses: a 500 then a Response is one llm.request with two attempt spans', async (t) => {
  upstream.enqueue({ status: 500, headers: { 'retry-after-ms': '20' }, json: { error: { message: 'boom', type: 'server_error', param: null, code: null } } }, { fixture: 'openai-responses-text-nonstream' })
  const raw = await gateway.client().responses.create({ model: 'gpt-4.1-nano', input: 'hi' }).withResponse()
  t.equal(upstream.requests.length, 2)
  t.ok(upstream.requests.every((r) => r.path === '/v1/responses'), 'both attempts went to /v1/responses')
  const { request, attempts } = await attemptsOf(raw.response.headers.get('x-trace-id')!, 'llm.openai.chat', 2)
  checkAttempts(t, request, attempts, 'upstream_error')
})

t.test('a client error (400) is not retried: one attempt', async (t) => {
  upstream.enqueue({ status: 400, json: { error: { message: 'bad image', type: 'invalid_request_error', param: 'messages', code: null } } })
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(response.status, 400)
  t.equal(upstream.requests.length, 1, 'one request upstream')
  const attempts = await receiver.waitForSpans((s) => s.traceId === response.headers.get('x-trace-id') && s.name === 'llm.openai.chat', 1, WAIT_MS)
  t.equal(attempts.length, 1)
  t.equal(attempts[0]!.attributes['llm.attempt'], 1)
})

t.test('a retry-after longer than the time left is not waited out: the caller gets the 429 and its retry-after at once', async (t) => {
  upstream.enqueue({ ...rateLimited, headers: { 'retry-after': '30' } })
  const started = Date.now()
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(response.status, 429, 'the upstream\'s 429, not a 504 after UPSTREAM_TOTAL_TIMEOUT_MS (5 s)')
  t.equal(response.headers.get('retry-after'), '30', 'with its retry-after')
  t.equal(upstream.requests.length, 1, 'no retry was begun')
  t.ok(Date.now() - started < 4000, 'answered before the total timeout')
})

t.test('an OpenAI response.failed in a passthrough stream is an upstream error in the caller\'s stream, not the gateway failing', async (t) => {
  const created = { type: 'response.created', sequence_number: 0, response: { id: 'resp_f', object: 'response', status: 'in_progress', model: 'gpt-4.1-nano', output: [] } }
  const failed = {
    type: 'response.failed',
    sequence_number: 1,
    response: { id: 'resp_f', object: 'response', status: 'failed', model: 'gpt-4.1-nano', output: [], error: { code: 'server_error', message: 'The model failed to answer' } },
  }
  const body = [created, failed].map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('')
  upstream.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, body })
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4.1-nano', input: 'hi', stream: true }),
  })
  const text = await response.text()
  const error = JSON.parse(text.split('\n').find((line) => line.startsWith('data: {"type":"error"'))!.slice(6)) as { code: string; message: string }
  t.equal(error.code, 'upstream_error', 'classified as the upstream failing')
  t.match(error.message, /The model failed to answer/, "with OpenAI's words")
  const [span] = await receiver.waitForSpans((s) => s.traceId === response.headers.get('x-trace-id') && s.name === 'llm.request', 1, WAIT_MS)
  t.equal(span!.attributes['error.type'], 'upstream_error', 'and so on the span (not internal)')
})
