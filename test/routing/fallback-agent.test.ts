// Issue 13, fallbacks in the reasoning agent's iterations (POST /v1/agents/reasoning with a route
// group as its model): the iteration's model call goes to the group's first target (OpenAI), which
// answers 429, 500 or hangs before its first byte; the second target (another Anthropic account)
// serves the turn, translated from chat to Messages. The run answers once, cleanly; the
// iteration's trace holds both attempts under one llm.request; the metrics count the served
// target and the fallback. A turn whose stream breaks after its first byte is not moved on: the
// run ends with its `error` event.
import t from 'tap'
import type { Test } from 'tap'
import { anthropicTurn, postAgent, streamAgent } from '../agent/helpers.ts'
import { ANTHROPIC_MODEL, OPENAI_MODEL, TO_ANTHROPIC, checkNotMovedOn, checkServedBySecond, counts, eachFailure, cutStream, fallbacksOf, openaiAnswer, startFallbackStack, type Failure, type Hop } from './fallback-setup.ts'

t.setTimeout(180_000)

const GROUP = 'smart-agent'
const stack = await startFallbackStack(t, { [GROUP]: TO_ANTHROPIC })
const { gateway, first, second } = stack
const ANSWER = 'Seven times six is 42.'
const request = { model: GROUP, messages: [{ role: 'user', content: 'What is 7 * 6?' }], tools: ['calculator'] }
/** The served turn: a plain answer from the Anthropic target. */
const turn = () => anthropicTurn({ text: ANSWER, model: ANTHROPIC_MODEL, usage: { input: 60, output: 9 } })
const PATHS = { first: '/v1/chat/completions', second: '/v1/messages' }

/** The fallback a failure of target 1 makes. */
const hopOf = (failure: Failure): Hop => ({ group: GROUP, from: { provider: 'openai', model: OPENAI_MODEL }, to: { provider: 'anthropic2', model: ANTHROPIC_MODEL }, reason: failure.reason })

/** Target 1 fails as `failure` says; target 2 serves the JSON answer. */
function jsonCase(failure: Failure): void {
  const hop = hopOf(failure)
  t.test(`JSON run: OpenAI answers ${failure.name} → the Anthropic target serves the iteration`, async (t) => {
    first.enqueue(failure.reply('openai'))
    second.enqueue(turn())
    const before = await counts(gateway, hop)
    const answer = await postAgent(gateway.url, request)
    t.equal(answer.status, 200)
    t.match(answer.json, { object: 'agent.run', answer: ANSWER, usage: { prompt_tokens: 60, completion_tokens: 9 } }, "the second target's answer, its usage only")
    t.equal((answer.json.iterations as unknown[]).length, 1, 'one iteration')
    await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: answer.headers.get('x-trace-id') ?? '', before })
    await checkRunNamesServed(t, answer.headers.get('x-trace-id') ?? '')
  })
}

/** Target 1 fails as `failure` says; target 2 serves the stream. */
function streamCase(failure: Failure): void {
  const hop = hopOf(failure)
  t.test(`streamed run: OpenAI answers ${failure.name} → the Anthropic target serves the iteration`, async (t) => {
    first.enqueue(failure.reply('openai'))
    second.enqueue(turn())
    const before = await counts(gateway, hop)
    const answer = await streamAgent(gateway.url, request)
    t.equal(answer.status, 200)
    const names = answer.events.map((e) => e.event)
    t.equal(names.at(-1), 'done', 'the run ends with done')
    t.notOk(names.includes('error'), 'no error event')
    t.equal(
      answer.events.filter((e) => e.event === 'answer.delta').map((e) => e.data.delta).join(''),
      ANSWER,
      "the second target's words, once",
    )
    t.match(answer.events.at(-1)?.data, { answer: ANSWER })
    await checkServedBySecond(t, stack, { hop, paths: PATHS, traceId: answer.headers.get('x-trace-id') ?? '', before })
    await checkRunNamesServed(t, answer.headers.get('x-trace-id') ?? '')
  })
}

/** The run span names the target that served its iteration, as the iteration's llm.request does, not the group's first. */
async function checkRunNamesServed(t: Test, traceId: string): Promise<void> {
  const find = () => stack.receiver.spans.find((s) => s.traceId === traceId && s.name === 'llm.reasoning_agent.stream')
  await stack.receiver.waitFor(() => find() !== undefined, 10_000)
  t.match(find()?.attributes, { 'llm.provider': 'anthropic2', 'llm.model': ANTHROPIC_MODEL, 'gen_ai.request.model': GROUP }, 'the run span names the target that served')
}

eachFailure(jsonCase, streamCase)

t.test("after the first byte nothing moves on: a turn's stream reset by target 1 ends the run with its error event, target 2 gets nothing", async (t) => {
  first.enqueue(cutStream(openaiAnswer(true)))
  const before = await fallbacksOf(stack, GROUP)
  const answer = await streamAgent(gateway.url, request)
  t.equal(answer.status, 200, 'the stream had begun')
  t.ok(answer.events.some((e) => e.event === 'answer.delta'), 'the caller got words of target 1')
  t.equal(answer.events.at(-1)?.event, 'error', 'the run ends with its error event')
  t.match(answer.events.at(-1)?.data, { error: { code: 'connection_error' } })
  await checkNotMovedOn(t, stack, answer.headers.get('x-trace-id') ?? '', GROUP, before)
})
