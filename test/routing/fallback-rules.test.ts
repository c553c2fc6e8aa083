// Issue 13, when a route group moves on and when it does not: the caller's own mistake (an
// upstream 400) is answered at once, on every ingress, with no fallback; the gateway's credentials
// refused by one target (an upstream 401) are that target's problem and move on; a refusal for
// length goes only to the group's `contextFallback` targets (wherever the file lists them),
// skipping the ordinary ones, and those serve nothing else; `maxAttempts` and `timeoutMs` bound
// the call, which then answers the last failure.
import Anthropic from '@anthropic-ai/sdk'
import t, { type Test } from 'tap'
import { postMessages } from '../messages/helpers.ts'
import { postChat } from '../telemetry/helpers.ts'
import {
  ANTHROPIC_MODEL,
  ANTHROPIC_TEXT,
  FIRST_BYTE_MS,
  OPENAI_MODEL,
  OPENAI_TEXT,
  TO_ANTHROPIC,
  TO_OPENAI,
  anthropicAnswer,
  callSpans,
  checkServedBySecond,
  contextTooLong,
  counts,
  fallbacksOf,
  invalidRequest,
  openaiAnswer,
  startFallbackStack,
  type FallbackStack,
  type Hop,
} from './fallback-setup.ts'

t.setTimeout(180_000)

const openai = (model = OPENAI_MODEL) => ({ provider: 'openai', model })
const anthropic = (model = ANTHROPIC_MODEL) => ({ provider: 'anthropic', model })
const openai2 = (model = OPENAI_MODEL) => ({ provider: 'openai2', model })
const anthropic2 = (model = ANTHROPIC_MODEL) => ({ provider: 'anthropic2', model })

const stack = await startFallbackStack(t, {
  'smart-chat': TO_ANTHROPIC,
  'smart-messages': TO_OPENAI,
  // An ordinary second target and a larger-context one, on either provider.
  'long-chat': { targets: [openai(), openai2('gpt-4o'), { ...anthropic2(), contextFallback: true }] },
  'long-messages': { targets: [anthropic(), anthropic2('claude-3-5-haiku-20241022'), { ...openai2('gpt-4.1'), contextFallback: true }] },
  // The larger-context target listed first: still only for calls refused for their length.
  'long-listed-first': { targets: [{ ...anthropic2(), contextFallback: true }, openai(), openai2('gpt-4o')] },
  capped: { targets: [openai(), anthropic(), openai2()], maxAttempts: 2 },
  'short-deadline': { targets: [openai(), anthropic(), openai2()], firstByteTimeoutMs: FIRST_BYTE_MS, timeoutMs: Math.round(FIRST_BYTE_MS * 1.5) },
})
const { gateway, first, second } = stack
const anthropicClient = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 })
const messages = [{ role: 'user' as const, content: 'Tell me a joke about OpenTelemetry' }]

/** A call that failed at its first target: one attempt in the trace, nothing moved on, nothing counted. */
async function checkAnsweredAtOnce(t: Test, stack: FallbackStack, traceId: string, group: string, fallbacksBefore: number): Promise<void> {
  t.equal(stack.first.requests.length, 1, 'target 1 was asked once')
  t.equal(stack.second.requests.length, 0, 'target 2 got nothing')
  const { requests, providers } = await callSpans(stack.receiver, traceId, 1)
  t.equal(providers.length, 1, 'one attempt in the trace')
  t.equal(requests[0]?.status.code, 'ERROR', 'llm.request failed')
  t.notOk('llm.fallback.reason' in (providers[0]?.attributes ?? {}), 'no fallback reason')
  t.equal(await fallbacksOf(stack, group), fallbacksBefore, 'no fallback counted')
}

t.test("the caller's mistake (an upstream 400) is answered at once, no fallback", async (t) => {
  for (const stream of [false, true]) {
    t.test(`chat${stream ? ', streamed' : ''}: OpenAI's 400 in OpenAI's shape`, async (t) => {
      first.enqueue(invalidRequest('openai'))
      const before = await fallbacksOf(stack, 'smart-chat')
      const answer = await postChat(gateway.url, { model: 'smart-chat', messages, stream })
      t.equal(answer.status, 400)
      t.match(answer.json, { error: { type: 'invalid_request_error', message: /temperature/ } }, "the upstream's words")
      t.equal(answer.headers.get('x-gateway-target'), null, 'no target served')
      await checkAnsweredAtOnce(t, stack, answer.headers.get('x-trace-id') ?? '', 'smart-chat', before)
    })
    t.test(`messages${stream ? ', streamed' : ''}: Anthropic's 400 in Anthropic's shape`, async (t) => {
      first.enqueue(invalidRequest('anthropic'))
      const before = await fallbacksOf(stack, 'smart-messages')
      const answer = await postMessages(gateway.url, { model: 'smart-messages', max_tokens: 100, messages, stream })
      t.equal(answer.status, 400)
      t.match(answer.json, { type: 'error', error: { type: 'invalid_request_error', message: /temperature/ } })
      await checkAnsweredAtOnce(t, stack, answer.headers.get('x-trace-id') ?? '', 'smart-messages', before)
    })
  }
  t.test('responses: the 400 reaches the openai client as a BadRequestError', async (t) => {
    first.enqueue(invalidRequest('openai'))
    const before = await fallbacksOf(stack, 'smart-chat')
    const error = await gateway
      .client()
      .responses.create({ model: 'smart-chat', input: 'hi' })
      .then(() => undefined, (e: unknown) => e as { status?: number; headers?: Headers })
    t.equal(error?.status, 400)
    await checkAnsweredAtOnce(t, stack, error?.headers?.get('x-trace-id') ?? '', 'smart-chat', before)
  })
})

t.test("the gateway's credentials refused by target 1 (401) are that target's problem: target 2 serves", async (t) => {
  const hop: Hop = { group: 'smart-messages', from: anthropic(), to: openai2(), reason: 'upstream_auth' }
  first.enqueue({ status: 401, json: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } })
  second.enqueue(openaiAnswer(false))
  const before = await counts(gateway, hop)
  const { data, response } = await anthropicClient.messages.create({ model: 'smart-messages', max_tokens: 300, messages }).withResponse()
  t.match(data.content, [{ type: 'text', text: OPENAI_TEXT }])
  t.equal(response.headers.get('x-gateway-target'), `openai2/${OPENAI_MODEL}`)
  await checkServedBySecond(t, stack, { hop, paths: { first: '/v1/messages', second: '/v1/chat/completions' }, traceId: response.headers.get('x-trace-id') ?? '', before })
})

t.test('a refusal for length goes to the contextFallback target, skipping the ordinary ones', async (t) => {
  t.test("chat: OpenAI's context_length_exceeded → the Anthropic target with the larger window", async (t) => {
    const hop: Hop = { group: 'long-chat', from: openai(), to: anthropic2(), reason: 'context_length' }
    first.enqueue(contextTooLong('openai'))
    second.enqueue(anthropicAnswer(false))
    const before = await counts(gateway, hop)
    const { data, response } = await gateway.client().chat.completions.create({ model: 'long-chat', messages }).withResponse()
    t.equal(data.choices[0]?.message.content, ANTHROPIC_TEXT)
    t.equal(response.headers.get('x-gateway-target'), `anthropic2/${ANTHROPIC_MODEL}`)
    // Target 2 of the list (openai2/gpt-4o, a /v1/chat/completions call) was passed over.
    await checkServedBySecond(t, stack, { hop, paths: { first: '/v1/chat/completions', second: '/v1/messages' }, traceId: response.headers.get('x-trace-id') ?? '', before })
  })

  t.test('messages, streamed: Anthropic\'s "prompt is too long" → the OpenAI target with the larger window', async (t) => {
    const hop: Hop = { group: 'long-messages', from: anthropic(), to: openai2('gpt-4.1'), reason: 'context_length' }
    first.enqueue(contextTooLong('anthropic'))
    second.enqueue(openaiAnswer(true))
    const before = await counts(gateway, hop)
    const answer = await postMessages(gateway.url, { model: 'long-messages', max_tokens: 300, messages, stream: true })
    t.equal(answer.status, 200)
    t.equal(answer.events.at(-1)?.event, 'message_stop')
    t.equal(answer.headers.get('x-gateway-target'), 'openai2/gpt-4.1')
    await checkServedBySecond(t, stack, { hop, paths: { first: '/v1/messages', second: '/v1/chat/completions' }, traceId: answer.headers.get('x-trace-id') ?? '', before })
  })

  t.test('the contextFallback target listed before the ordinary ones still takes the refusal', async (t) => {
    const hop: Hop = { group: 'long-listed-first', from: openai(), to: anthropic2(), reason: 'context_length' }
    first.enqueue(contextTooLong('openai'))
    second.enqueue(anthropicAnswer(false))
    const before = await counts(gateway, hop)
    const answer = await postChat(gateway.url, { model: 'long-listed-first', messages })
    t.equal(answer.status, 200, 'served, not the 400')
    t.equal(answer.headers.get('x-gateway-target'), `anthropic2/${ANTHROPIC_MODEL}`)
    await checkServedBySecond(t, stack, { hop, paths: { first: '/v1/chat/completions', second: '/v1/messages' }, traceId: answer.headers.get('x-trace-id') ?? '', before })
  })

  t.test('a group without a contextFallback target answers the refusal at once (an ordinary target has no larger window)', async (t) => {
    first.enqueue(contextTooLong('openai'))
    const before = await fallbacksOf(stack, 'smart-chat')
    const answer = await postChat(gateway.url, { model: 'smart-chat', messages })
    t.equal(answer.status, 400)
    t.match(answer.json, { error: { code: 'context_length_exceeded', message: /maximum context length/ } })
    await checkAnsweredAtOnce(t, stack, answer.headers.get('x-trace-id') ?? '', 'smart-chat', before)
  })

  t.test('an ordinary failure never goes to the contextFallback target', async (t) => {
    first.enqueue({ status: 500, json: { error: { message: 'boom', type: 'server_error', param: null, code: null } } })
    second.enqueue({ status: 503, json: { error: { message: 'busy', type: 'server_error', param: null, code: null } } })
    const answer = await postChat(gateway.url, { model: 'long-chat', messages })
    t.equal(answer.status, 502, 'the last failure (an upstream 5xx) is answered')
    t.strictSame(second.requests.map((r) => r.path), ['/v1/chat/completions'], 'only the ordinary second target (OpenAI) was tried, not the Anthropic contextFallback one')
  })
})

t.test('maxAttempts: three failing targets, at most two tries; the answer is the last failure', async (t) => {
  first.enqueue(
    { status: 500, json: { error: { message: 'boom', type: 'server_error', param: null, code: null } } },
    { status: 429, headers: { 'retry-after': '9' }, json: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } } },
  )
  second.setDefault(openaiAnswer(false))
  const answer = await postChat(gateway.url, { model: 'capped', messages })
  t.equal(answer.status, 429, "the second target's 429, the last failure")
  t.equal(answer.headers.get('retry-after'), '9', 'with its retry-after')
  t.strictSame(first.requests.map((r) => r.path), ['/v1/chat/completions', '/v1/messages'], 'targets 1 and 2 tried once each')
  t.equal(second.requests.length, 0, 'target 3 never asked')
  const { providers } = await callSpans(stack.receiver, answer.headers.get('x-trace-id') ?? '', 2)
  t.strictSame(providers.map((s) => s.attributes['llm.attempt']), [1, 2], 'two attempts in the trace')
})

t.test('timeoutMs bounds the whole call: a second target still hanging at the deadline is given up on, the third never asked', async (t) => {
  // Target 1 is given up on at its first-byte timeout; target 2 would be at twice that, after the deadline.
  first.enqueue({ hang: true }, { hang: true })
  second.setDefault(openaiAnswer(false))
  const answer = await postChat(gateway.url, { model: 'short-deadline', messages })
  t.equal(answer.status, 504)
  t.match(answer.json, { error: { type: 'timeout_error' } })
  t.strictSame(first.requests.map((r) => r.path), ['/v1/chat/completions', '/v1/messages'], 'targets 1 and 2 tried')
  t.ok((await first.waitForAbort(1)).aborted, 'target 2 was given up on')
  t.equal(second.requests.length, 0, 'target 3 never asked')
})
