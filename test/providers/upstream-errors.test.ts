// Upstream errors as the caller, the trace and the log see them. Keys the upstream quotes back,
// whole, masked (OpenAI's "sk-proj-****abcd") or cut short, never pass; an error the upstream
// sends inside a 200 stream is reported as what it is (overloaded, rate limited, failed), with
// the upstream's own words, not as a lost connection; a Claude model the Anthropic SDK calls
// deprecated leaves no plain-text line among the gateway's JSON log lines.
import t from 'tap'
import { loadFixture } from '../support/fixtures.ts'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { providerEnv, startUpstream, type Reply } from '../support/upstream.ts'
import { postChat, STARTUP_MS, WAIT_MS, type RawAnswer } from '../telemetry/helpers.ts'

const OPENAI_KEY = 'sk-proj-T3stK3yOpenAI0123456789abcdWXYZ'
const ANTHROPIC_KEY = 'sk-ant-api03-T3stK3yAnthropic9876543210-QRST'
/** What must never come back: the keys' tails and distinctive middles, and the recorded mask. */
const NEEDLES = ['WXYZ', 'QRST', 'T3stK3yOpenAI', 'T3stK3yAnthropic', '0123456789abcd', '9876543210', 'not-a-r****key', 'sk-proj-', 'sk-ant-']

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const gateway = await startGateway({
  timeoutMs: STARTUP_MS,
  env: {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    ...providerEnv(upstream, { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY }),
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
})
t.beforeEach(() => upstream.reset())

const ask = [{ role: 'user', content: 'hi' }]
const openai401 = (message: string): Reply => ({
  status: 401,
  json: { error: { message, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
})
const anthropic401 = (message: string): Reply => ({
  status: 401,
  json: { type: 'error', error: { type: 'authentication_error', message } },
})

/** The error object of an answer: the JSON body's, or the stream's error event's. */
function errorOf(answer: RawAnswer): { message: string; type: string; code: string | null } {
  const error = answer.chunks.length > 0 ? answer.chunks.find((c) => c.error !== undefined)?.error : answer.json.error
  if (!error) throw new Error(`no error in ${answer.text}`)
  return error as { message: string; type: string; code: string | null }
}

/** The llm.request span of an answer, once exported. */
async function requestSpan(answer: RawAnswer) {
  const traceId = answer.headers.get('x-trace-id') ?? ''
  await receiver.waitFor(() => receiver.spans.some((s) => s.traceId === traceId && s.name === 'llm.request'), WAIT_MS)
  return receiver.spans.find((s) => s.traceId === traceId && s.name === 'llm.request')!
}

function leaks(text: string): string[] {
  return NEEDLES.filter((needle) => text.includes(needle))
}

t.test('keys quoted back by the upstream, whole or masked, reach no answer, span or log line', async (t) => {
  const cases: Array<{ what: string; reply: Reply; body: Record<string, unknown>; says: RegExp }> = [
    {
      what: 'OpenAI 401 as recorded (masked key)',
      reply: { fixture: 'openai-chat-error-401-invalid-api-key' },
      body: { model: 'gpt-4o-mini', messages: ask },
      says: /^openai rejected the gateway's credentials \(401\): Incorrect API key provided: <\[redacted\]>\. You can find your API key at https:\/\/platform\.openai\.com\/account\/api-keys\.$/,
    },
    {
      what: 'OpenAI 401 as recorded, on a stream request',
      reply: { fixture: 'openai-chat-error-401-invalid-api-key' },
      body: { model: 'gpt-4o-mini', messages: ask, stream: true },
      says: /Incorrect API key provided: <\[redacted\]>\./,
    },
    {
      what: 'OpenAI 401 with its mask over our key',
      reply: openai401(`Incorrect API key provided: sk-proj-************************WXYZ. You can find your API key at https://platform.openai.com/account/api-keys.`),
      body: { model: 'gpt-4o-mini', messages: ask },
      says: /Incorrect API key provided: \[redacted\]\. You can find/,
    },
    {
      what: 'OpenAI 401 with an elided key',
      reply: openai401('Incorrect API key provided: sk-…WXYZ'),
      body: { model: 'gpt-4o-mini', messages: ask, stream: true },
      says: /Incorrect API key provided: \[redacted\]$/,
    },
    {
      what: 'OpenAI 500 quoting the key cut short',
      reply: { status: 500, json: { error: { message: 'auth backend choked on T3stK3yOpenAI0123456789 (truncated)', type: 'server_error' } } },
      body: { model: 'gpt-4o-mini', messages: ask },
      says: /auth backend choked on \[redacted\] \(truncated\)/,
    },
    {
      what: 'Anthropic 401 as recorded',
      reply: { fixture: 'anthropic-messages-error-401-authentication' },
      body: { model: 'claude-3-5-haiku-20241022', messages: ask },
      says: /^anthropic rejected the gateway's credentials \(401\): invalid x-api-key$/,
    },
    {
      what: 'Anthropic 401 naming the key by its prefix and tail',
      reply: anthropic401('invalid x-api-key sk-ant-api03-…QRST'),
      body: { model: 'claude-3-5-haiku-20241022', messages: ask, stream: true },
      says: /invalid x-api-key \[redacted\]$/,
    },
    {
      what: 'Anthropic 401 quoting a masked key that is not ours',
      reply: anthropic401('invalid x-api-key sk-ant-api03-****Zz9Q'),
      body: { model: 'claude-3-5-haiku-20241022', messages: ask },
      says: /invalid x-api-key \[redacted\]$/,
    },
  ]
  const answers: RawAnswer[] = []
  for (const { what, reply, body, says } of cases) {
    upstream.enqueue(reply)
    const answer = await postChat(gateway.url, body)
    answers.push(answer)
    t.equal(answer.status, 502, `${what}: 502`)
    t.match(errorOf(answer).message, says, `${what}: the upstream's words, the key redacted`)
    t.same(leaks(answer.text), [], `${what}: nothing of a key in the answer`)
    const span = await requestSpan(answer)
    t.equal(span.status.code, 'ERROR', `${what}: the span failed`)
    t.match(span.status.message, says, `${what}: the span says why, redacted`)
    t.same(leaks(JSON.stringify(span, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))), [], `${what}: nothing of a key on the span`)
  }
  const logged = gateway.lines.filter((line) => leaks(line).length > 0)
  t.ok(gateway.lines.length > cases.length, 'there are log lines to search')
  t.same(logged, [], 'no log line holds any of it')
})

t.test('an upstream failing alike call after call is read as it answers each time: its words redacted, its status its own', async (t) => {
  // The gateway keeps the last error body it read and the texts it scrubbed: what it keeps must
  // never answer for a body or a status it was not.
  const masked = openai401('Incorrect API key provided: sk-proj-************************WXYZ.')
  // Statuses the gateway does not retry: each call takes exactly one reply.
  const refused = { error: { message: 'no such deployment here', type: 'invalid_request_error', param: null, code: null } }
  const cases: Array<{ what: string; reply: Reply; status: number; message: string }> = [
    { what: 'a masked key', reply: masked, status: 502, message: "openai rejected the gateway's credentials (401): Incorrect API key provided: [redacted]." },
    { what: 'the same answer again', reply: masked, status: 502, message: "openai rejected the gateway's credentials (401): Incorrect API key provided: [redacted]." },
    { what: 'a 400', reply: { status: 400, json: refused }, status: 400, message: 'no such deployment here' },
    { what: 'the same body as a 404', reply: { status: 404, json: refused }, status: 404, message: 'no such deployment here' },
    { what: 'the same body as a 403', reply: { status: 403, json: refused }, status: 502, message: "openai rejected the gateway's credentials (403): no such deployment here" },
    { what: 'another body as a 403', reply: { status: 403, json: { error: { message: 'this project may not use it' } } }, status: 502, message: "openai rejected the gateway's credentials (403): this project may not use it" },
    { what: 'the masked key once more', reply: masked, status: 502, message: "openai rejected the gateway's credentials (401): Incorrect API key provided: [redacted]." },
  ]
  for (const { what, reply, status, message } of cases) {
    upstream.enqueue(reply)
    const answer = await postChat(gateway.url, { model: 'gpt-4o-mini', messages: ask })
    t.equal(answer.status, status, `${what}: ${status}`)
    t.equal(errorOf(answer).message, message, `${what}: what the upstream said this time`)
  }
})

/** A stream that starts well, then carries the upstream's error. */
function openaiStreamThenError(error: Record<string, unknown> | string): Reply {
  const body = loadFixture('openai-chat-text-stream-include-usage').response.body
  const events = body.split('\n\n').filter((event) => event.trim() !== '')
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    body: `${events.slice(0, 3).join('\n\n')}\n\ndata: ${JSON.stringify({ error })}\n\n`,
  }
}

function anthropicStreamThenError(error: Record<string, unknown>): Reply {
  const start = loadFixture('anthropic-messages-text-stream').response.body.split('event: content_block_stop')[0]!
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    body: `${start}event: error\ndata: ${JSON.stringify({ type: 'error', error })}\n\n`,
  }
}

t.test('an error inside the stream is classified as what it is, with the upstream\'s words', async (t) => {
  const cases = [
    {
      what: 'Anthropic overloaded_error',
      reply: anthropicStreamThenError({ type: 'overloaded_error', message: 'Overloaded' }),
      model: 'claude-3-5-haiku-20241022',
      errorType: 'upstream_overloaded',
      message: 'anthropic is overloaded (overloaded_error in the stream): Overloaded',
    },
    {
      what: 'Anthropic api_error',
      reply: anthropicStreamThenError({ type: 'api_error', message: 'Internal server error' }),
      model: 'claude-3-5-haiku-20241022',
      errorType: 'upstream_error',
      message: 'anthropic failed (api_error in the stream): Internal server error',
    },
    {
      what: 'Anthropic rate_limit_error',
      reply: anthropicStreamThenError({ type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' }),
      model: 'claude-3-5-haiku-20241022',
      errorType: 'rate_limited',
      message: 'anthropic rate limit: Number of request tokens has exceeded your per-minute rate limit',
    },
    {
      what: 'OpenAI server_error',
      reply: openaiStreamThenError({ message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null }),
      model: 'gpt-4o-mini',
      errorType: 'upstream_error',
      message: 'openai failed (server_error in the stream): The server had an error while processing your request. Sorry about that!',
    },
    {
      what: 'OpenAI rate_limit_exceeded',
      reply: openaiStreamThenError({ message: 'Rate limit reached for gpt-4o-mini on tokens per min (TPM).', type: 'tokens', param: null, code: 'rate_limit_exceeded' }),
      model: 'gpt-4o-mini',
      errorType: 'rate_limited',
      message: 'openai rate limit: Rate limit reached for gpt-4o-mini on tokens per min (TPM).',
    },
    {
      what: 'OpenAI error of a kind not known, quoting our key masked',
      reply: openaiStreamThenError({ message: 'something odd about sk-proj-****WXYZ', type: 'weird_error' }),
      model: 'gpt-4o-mini',
      errorType: 'upstream_error',
      message: 'openai failed (weird_error in the stream): something odd about [redacted]',
    },
    {
      what: 'OpenAI-compatible server whose error is a bare string',
      reply: openaiStreamThenError('model backend crashed'),
      model: 'gpt-4o-mini',
      errorType: 'upstream_error',
      message: 'openai failed (error in the stream): model backend crashed',
    },
  ]
  for (const { what, reply, model, errorType, message } of cases) {
    upstream.enqueue(reply)
    const answer = await postChat(gateway.url, { model, messages: ask, stream: true })
    t.equal(answer.status, 200, `${what}: the stream had started`)
    t.ok(answer.chunks.some((c) => (c.choices as Array<{ delta: { content?: string } }> | undefined)?.some((choice) => choice.delta.content)), `${what}: the text before the error was delivered`)
    const error = errorOf(answer)
    t.equal(error.message, message, `${what}: the caller's error event says what happened`)
    t.equal(error.code, errorType, `${what}: and its code is ${errorType}`)
    t.notOk(answer.text.includes('[DONE]'), `${what}: no [DONE] after an error`)
    const span = await requestSpan(answer)
    t.equal(span.attributes['error.type'], errorType, `${what}: error.type on the span`)
    t.equal(span.status.message, message, `${what}: and its status message`)
  }
  // The failure metric counts them by what they were (the OpenTelemetry histogram keeps error.type).
  const errorTypes = () =>
    new Set(receiver.latestMetric('gen_ai.client.operation.duration')?.dataPoints.map((p) => p.attributes['error.type']) ?? [])
  await receiver.waitFor(() => ['upstream_overloaded', 'upstream_error', 'rate_limited'].every((type) => errorTypes().has(type)), WAIT_MS)
  t.notOk(errorTypes().has('connection_error'), 'no stream error counted as a lost connection')
})

t.test('a real connection loss mid-stream is still a connection_error', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-stream-include-usage', resetAfterBytes: 700 })
  const answer = await postChat(gateway.url, { model: 'gpt-4o-mini', messages: ask, stream: true })
  t.equal(errorOf(answer).code, 'connection_error')
})

t.test('Anthropic\'s 529 is an overloaded upstream: 503 to the caller', async (t) => {
  upstream.enqueue({ status: 529, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } })
  const answer = await postChat(gateway.url, { model: 'claude-3-5-haiku-20241022', messages: ask })
  t.equal(answer.status, 503)
  t.match(errorOf(answer), { code: 'upstream_overloaded', message: 'anthropic is overloaded (529): Overloaded', type: 'api_error' })
})

t.test('a model the Anthropic SDK calls deprecated: every line the gateway writes is still JSON', async (t) => {
  const before = gateway.lines.length
  for (const stream of [false, true]) {
    upstream.enqueue({ fixture: stream ? 'anthropic-messages-text-stream' : 'anthropic-messages-text-nonstream' })
    const answer = await postChat(gateway.url, { model: 'claude-sonnet-4-5', messages: ask, stream })
    t.equal(answer.status, 200, `claude-sonnet-4-5 ${stream ? 'stream' : 'JSON'}: answered`)
  }
  t.equal((upstream.requests[0]?.body as { model?: string }).model, 'claude-sonnet-4-5', 'the model was called')
  // The log line of each request is written as it ends; give stdout a moment to arrive.
  await receiver.waitFor(() => gateway.lines.slice(before).filter((line) => line.includes('claude-sonnet-4-5')).length >= 2, WAIT_MS)
  const notJson = gateway.lines.slice(before).filter((line) => {
    try {
      return typeof JSON.parse(line) !== 'object'
    } catch {
      return true
    }
  })
  t.same(notJson, [], 'no plain-text line (the SDK\'s "is deprecated" warning) on stdout or stderr')
})
