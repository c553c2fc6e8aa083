// Issue 13, fallbacks on /v1/chat/completions with the real `openai` client: a route group whose
// first target (OpenAI) answers 429, 500 or hangs before its first byte is served by its second
// (another Anthropic account), translated from chat to Messages for that attempt only. The caller
// gets one clean chat completion naming the target that served; the trace holds both attempts
// under one llm.request; the metrics count the served target and the fallback. After the first
// byte reached the caller nothing moves on: the stream ends with the error chunk.
import t from 'tap'
import { postChat } from '../telemetry/helpers.ts'
import { ANTHROPIC_MODEL, ANTHROPIC_TEXT, OPENAI_MODEL, TO_ANTHROPIC, anthropicAnswer, checkNotMovedOn, checkServedBySecond, counts, eachFailure, cutStream, fallbacksOf, openaiAnswer, startFallbackStack, type Failure, type Hop } from './fallback-setup.ts'

t.setTimeout(180_000)

const GROUP = 'smart-chat'
const stack = await startFallbackStack(t, { [GROUP]: TO_ANTHROPIC })
const { gateway, first, second } = stack
const client = gateway.client()
const messages = [{ role: 'user' as const, content: 'Tell me a joke about OpenTelemetry' }]
const PATHS = { first: '/v1/chat/completions', second: '/v1/messages' }

/** The fallback a failure of target 1 makes. */
const hopOf = (failure: Failure): Hop => ({ group: GROUP, from: { provider: 'openai', model: OPENAI_MODEL }, to: { provider: 'anthropic2', model: ANTHROPIC_MODEL }, reason: failure.reason })

/** Target 1 fails as `failure` says; target 2 serves the JSON answer. */
function jsonCase(failure: Failure): void {
  const hop = hopOf(failure)
  t.test(`JSON: OpenAI answers ${failure.name} → the Anthropic target serves a chat completion`, async (t) => {
    first.enqueue(failure.reply('openai'))
    second.enqueue(anthropicAnswer(false))
    const before = await counts(gateway, hop)
    const { data, response } = await client.chat.completions.create({ model: GROUP, messages, max_tokens: 300 }).withResponse()
    t.equal(response.status, 200)
    t.equal(data.object, 'chat.completion', "the caller's API shape")
    t.equal(data.choices[0]?.message.content, ANTHROPIC_TEXT, "the second target's answer, whole")
    t.match(data.model, /^claude-3/, "the body's model: the one that served")
    t.equal(response.headers.get('x-gateway-target'), `anthropic2/${ANTHROPIC_MODEL}`, 'x-gateway-target names target 2')
    await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: response.headers.get('x-trace-id') ?? '', before })
  })
}

/** Target 1 fails as `failure` says; target 2 serves the stream. */
function streamCase(failure: Failure): void {
  const hop = hopOf(failure)
  t.test(`streamed: OpenAI answers ${failure.name} → the Anthropic target's stream, as chat chunks`, async (t) => {
    first.enqueue(failure.reply('openai'))
    second.enqueue(anthropicAnswer(true))
    const before = await counts(gateway, hop)
    const { data: stream, response } = await client.chat.completions
      .create({ model: GROUP, messages, max_tokens: 300, stream: true, stream_options: { include_usage: true } })
      .withResponse()
    t.equal(response.headers.get('x-gateway-target'), `anthropic2/${ANTHROPIC_MODEL}`, 'x-gateway-target names target 2')
    let text = ''
    const ids = new Set<string>()
    const finishes: string[] = []
    let usage: unknown
    let errors = 0
    for await (const chunk of stream) {
      ids.add(chunk.id)
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason)
      if (chunk.usage) usage = chunk.usage
      if ('error' in chunk) errors++
    }
    t.equal(errors, 0, 'no error chunk')
    t.equal(text, ANTHROPIC_TEXT, "the second target's answer, whole, once")
    t.equal(ids.size, 1, 'one completion: every chunk has the same id')
    t.strictSame(finishes, ['stop'], 'one finish')
    t.match(usage, { prompt_tokens: Number, completion_tokens: Number }, "the usage chunk: the served target's count")
    await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: response.headers.get('x-trace-id') ?? '', before })
  })
}

eachFailure(jsonCase, streamCase)

t.test('a JSON answer cut mid-body by target 1 has not reached the caller: target 2 serves', async (t) => {
  const hop: Hop = { group: GROUP, from: { provider: 'openai', model: OPENAI_MODEL }, to: { provider: 'anthropic2', model: ANTHROPIC_MODEL }, reason: 'connection_error' }
  const cut = openaiAnswer(false)
  first.enqueue({ ...(cut as object), resetAfterBytes: 120 } as typeof cut)
  second.enqueue(anthropicAnswer(false))
  const before = await counts(gateway, hop)
  const { data, response } = await client.chat.completions.create({ model: GROUP, messages, max_tokens: 300 }).withResponse()
  t.equal(data.choices[0]?.message.content, ANTHROPIC_TEXT)
  t.equal(response.headers.get('x-gateway-target'), `anthropic2/${ANTHROPIC_MODEL}`)
  await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: response.headers.get('x-trace-id') ?? '', before })
})

t.test('after the first byte nothing moves on: a stream reset by target 1 ends with the error chunk, target 2 gets nothing', async (t) => {
  first.enqueue(cutStream(openaiAnswer(true)))
  const before = await fallbacksOf(stack, GROUP)
  const answer = await postChat(gateway.url, { model: GROUP, messages, stream: true })
  t.equal(answer.status, 200, 'the stream had begun')
  t.ok(answer.chunks.some((c) => (c.choices as Array<{ delta?: { content?: string } }> | undefined)?.[0]?.delta?.content), 'the caller got words of target 1')
  t.match(answer.chunks.at(-1), { error: { type: 'api_error', code: 'connection_error' } }, 'the stream ends with the error chunk')
  await checkNotMovedOn(t, stack, answer.headers.get('x-trace-id') ?? '', GROUP, before)
})
