// Issue 13, fallbacks on /v1/responses with the real `openai` client (`responses.create`): a route
// group whose first target (OpenAI's Responses API, passed through) answers 429, 500 or hangs
// before its first byte is served by its second (another Anthropic account), translated from the
// Responses API to Messages for that attempt only. The caller gets one clean Response naming the
// target that served; the trace holds both attempts under one llm.request; the metrics count the
// served target and the fallback. After the first byte reached the caller nothing moves on: the
// stream ends with the `error` event.
import t from 'tap'
import { sseEvents } from '../support/sse.ts'
import { ANTHROPIC_MODEL, ANTHROPIC_TEXT, OPENAI_MODEL, TO_ANTHROPIC, anthropicAnswer, checkNotMovedOn, checkServedBySecond, counts, eachFailure, fallbacksOf, startFallbackStack, type Failure, type Hop } from './fallback-setup.ts'

t.setTimeout(180_000)

const GROUP = 'smart-responses'
const stack = await startFallbackStack(t, { [GROUP]: TO_ANTHROPIC })
const { gateway, first, second } = stack
const client = gateway.client()
const input = 'Tell me a joke about OpenTelemetry'
const PATHS = { first: '/v1/responses', second: '/v1/messages' }

/** The fallback a failure of target 1 makes. */
const hopOf = (failure: Failure): Hop => ({ group: GROUP, from: { provider: 'openai', model: OPENAI_MODEL }, to: { provider: 'anthropic2', model: ANTHROPIC_MODEL }, reason: failure.reason })

/** Target 1 fails as `failure` says; target 2 serves the JSON answer. */
function jsonCase(failure: Failure): void {
  const hop = hopOf(failure)
  t.test(`JSON: OpenAI answers ${failure.name} → the Anthropic target serves a Response`, async (t) => {
    first.enqueue(failure.reply('openai'))
    second.enqueue(anthropicAnswer(false))
    const before = await counts(gateway, hop)
    const { data, response } = await client.responses.create({ model: GROUP, input, max_output_tokens: 300 }).withResponse()
    t.equal(response.status, 200)
    t.equal(data.object, 'response', "the caller's API shape")
    t.equal(data.status, 'completed')
    t.equal(data.output_text, ANTHROPIC_TEXT, "the second target's answer, whole")
    t.match(data.model, /^claude-3/, "the body's model: the one that served")
    t.equal(response.headers.get('x-gateway-target'), `anthropic2/${ANTHROPIC_MODEL}`, 'x-gateway-target names target 2')
    await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: response.headers.get('x-trace-id') ?? '', before })
  })
}

/** Target 1 fails as `failure` says; target 2 serves the stream. */
function streamCase(failure: Failure): void {
  const hop = hopOf(failure)
  t.test(`streamed: OpenAI answers ${failure.name} → the Anthropic target's stream, as Responses events`, async (t) => {
    first.enqueue(failure.reply('openai'))
    second.enqueue(anthropicAnswer(true))
    const before = await counts(gateway, hop)
    const { data: stream, response } = await client.responses.create({ model: GROUP, input, max_output_tokens: 300, stream: true }).withResponse()
    t.equal(response.headers.get('x-gateway-target'), `anthropic2/${ANTHROPIC_MODEL}`, 'x-gateway-target names target 2')
    let text = ''
    const types: string[] = []
    let completed: { output_text?: string; status?: string } | undefined
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'response.output_text.delta') text += event.delta
      if (event.type === 'response.completed') completed = event.response
    }
    t.equal(text, ANTHROPIC_TEXT, "the second target's answer, whole, once")
    t.equal(types.filter((type) => type === 'response.created').length, 1, 'one response.created')
    t.equal(types.at(-1), 'response.completed', 'the stream ends cleanly')
    t.equal(completed?.status, 'completed')
    t.notOk(types.includes('error'), 'no error event')
    await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: response.headers.get('x-trace-id') ?? '', before })
  })
}

eachFailure(jsonCase, streamCase)

t.test('after the first byte nothing moves on: a stream reset by target 1 ends with the `error` event, target 2 gets nothing', async (t) => {
  // Past the first output_text.delta, before response.completed.
  first.enqueue({ fixture: 'openai-responses-text-stream', resetAfterBytes: 3000 })
  const before = await fallbacksOf(stack, GROUP)
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: GROUP, input, stream: true }),
  })
  t.equal(response.status, 200, 'the stream had begun')
  const events = sseEvents(await response.text())
  t.ok(events.some((e) => e.event === 'response.output_text.delta'), 'the caller got words of target 1')
  t.equal(events.at(-1)?.event, 'error', 'the stream ends with the error event')
  t.match(JSON.parse(events.at(-1)?.data ?? '{}'), { type: 'error', code: 'connection_error' })
  t.notOk(events.some((e) => e.event === 'response.completed'), 'no response.completed')
  await checkNotMovedOn(t, stack, response.headers.get('x-trace-id') ?? '', GROUP, before)
})
