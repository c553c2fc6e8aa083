// Issue 13, fallbacks on /v1/messages with the real `@anthropic-ai/sdk` client: a route group whose
// first target (Anthropic, passed through) answers 429, 500 or hangs before its first byte is
// served by its second (another OpenAI account), translated from Messages to chat for that attempt
// only. The caller gets one clean Anthropic Message naming the target that served; the trace holds
// both attempts under one llm.request; the metrics count the served target and the fallback. After
// the first byte reached the caller nothing moves on: the stream ends with `event: error`.
import Anthropic from '@anthropic-ai/sdk'
import t from 'tap'
import { eventsOf, postMessages } from '../messages/helpers.ts'
import { ANTHROPIC_MODEL, OPENAI_MODEL, OPENAI_TEXT, TO_OPENAI, anthropicAnswer, checkNotMovedOn, checkServedBySecond, counts, eachFailure, cutStream, fallbacksOf, openaiAnswer, startFallbackStack, type Failure, type Hop } from './fallback-setup.ts'

t.setTimeout(180_000)

const GROUP = 'smart-messages'
const stack = await startFallbackStack(t, { [GROUP]: TO_OPENAI })
const { gateway, first, second } = stack
const client = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 })
const messages = [{ role: 'user' as const, content: 'Tell me a joke about OpenTelemetry' }]
const PATHS = { first: '/v1/messages', second: '/v1/chat/completions' }

/** The fallback a failure of target 1 makes. */
const hopOf = (failure: Failure): Hop => ({ group: GROUP, from: { provider: 'anthropic', model: ANTHROPIC_MODEL }, to: { provider: 'openai2', model: OPENAI_MODEL }, reason: failure.reason })

/** Target 1 fails as `failure` says; target 2 serves the JSON answer. */
function jsonCase(failure: Failure): void {
  const hop = hopOf(failure)
  t.test(`JSON: Anthropic answers ${failure.name} → the OpenAI target serves an Anthropic Message`, async (t) => {
    first.enqueue(failure.reply('anthropic'))
    second.enqueue(openaiAnswer(false))
    const before = await counts(gateway, hop)
    const { data, response } = await client.messages.create({ model: GROUP, max_tokens: 300, messages }).withResponse()
    t.equal(response.status, 200)
    t.equal(data.type, 'message', "the caller's API shape")
    t.strictSame(
      data.content.map((block) => (block.type === 'text' ? block.text : block.type)),
      [OPENAI_TEXT],
      "the second target's answer, whole",
    )
    t.equal(data.stop_reason, 'end_turn')
    t.match(data.model, /^gpt-/, "the body's model: the one that served")
    t.equal(response.headers.get('x-gateway-target'), `openai2/${OPENAI_MODEL}`, 'x-gateway-target names target 2')
    await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: response.headers.get('x-trace-id') ?? '', before })
  })
}

/** Target 1 fails as `failure` says; target 2 serves the stream. */
function streamCase(failure: Failure): void {
  const hop = hopOf(failure)
  t.test(`streamed: Anthropic answers ${failure.name} → the OpenAI target's stream, as Messages events`, async (t) => {
    first.enqueue(failure.reply('anthropic'))
    second.enqueue(openaiAnswer(true))
    const before = await counts(gateway, hop)
    const { data: stream, response } = await client.messages.create({ model: GROUP, max_tokens: 300, messages, stream: true }).withResponse()
    t.equal(response.headers.get('x-gateway-target'), `openai2/${OPENAI_MODEL}`, 'x-gateway-target names target 2')
    let text = ''
    const types: string[] = []
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text
    }
    t.equal(text, OPENAI_TEXT, "the second target's answer, whole, once")
    t.equal(types.filter((type) => type === 'message_start').length, 1, 'one message_start')
    t.equal(types.at(-1), 'message_stop', 'the stream ends cleanly')
    t.notOk(types.includes('error' as never), 'no error event')
    await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: response.headers.get('x-trace-id') ?? '', before })
  })
}

eachFailure(jsonCase, streamCase)

t.test('after the first byte nothing moves on: a stream reset by target 1 ends with `event: error`, target 2 gets nothing', async (t) => {
  first.enqueue(cutStream(anthropicAnswer(true)))
  const before = await fallbacksOf(stack, GROUP)
  const answer = await postMessages(gateway.url, { model: GROUP, max_tokens: 300, messages, stream: true })
  t.equal(answer.status, 200, 'the stream had begun')
  t.ok(eventsOf(answer, 'content_block_delta').length > 0, 'the caller got words of target 1')
  t.equal(answer.events.at(-1)?.event, 'error', 'the stream ends with the error event')
  t.match(eventsOf(answer, 'error')[0], { type: 'error', error: { type: 'api_error' } })
  t.equal(eventsOf(answer, 'message_stop').length, 0, 'no message_stop')
  await checkNotMovedOn(t, stack, answer.headers.get('x-trace-id') ?? '', GROUP, before)
})
