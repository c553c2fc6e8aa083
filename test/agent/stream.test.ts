// The reasoning agent's SSE stream as a client reads it with fetch (the point 3): named
// events in order, `done` carrying the same summary as the JSON answer, an upstream failure
// ending in `event: error` with trace_context, and a client that leaves mid-run stopping the
// loop and aborting the model call in flight.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { readUntil } from '../support/read-until.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import {
  agentEvents,
  anthropicTurn,
  calc,
  comparable,
  openaiTurn,
  postAgent,
  streamAgent,
  upstreamFailure,
  type AgentEvent,
  type Json,
} from './helpers.ts'

const upstream = await startUpstream({ seed: 3 })
const gateway = await startGateway({
  env: providerEnv(upstream, { openai: 'sk-test-agent-stream', anthropic: 'sk-ant-test-agent-stream' }),
})
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
})
t.beforeEach(() => upstream.reset())

const messages = [{ role: 'user', content: 'Solve: 15 * 23 + 7' }]
const ANSWER = 'The answer is 352.'

/** Event names with runs of the same delta event collapsed to one `name…`. */
function shape(events: AgentEvent[]): string[] {
  const out: string[] = []
  for (const { event } of events) {
    const name = event.endsWith('.delta') ? `${event}…` : event
    if (name.endsWith('…') && out.at(-1) === name) continue
    out.push(name)
  }
  return out
}

const deltas = (events: AgentEvent[], event: string, index?: number) =>
  events
    .filter((e) => e.event === event && (index === undefined || e.data.index === index))
    .map((e) => String(e.data.delta))
    .join('')

function scriptTwoIterations(): void {
  upstream.enqueue(
    openaiTurn({ toolCalls: [calc('call_s1', '15 * 23 + 7')], usage: { input: 90, output: 15 } }),
    openaiTurn({ content: ANSWER, usage: { input: 130, output: 6 } }),
  )
}

t.test('a 2-iteration run: the exact event order, and done = the JSON answer', async (t) => {
  scriptTwoIterations()
  const { status, headers, events, text } = await streamAgent(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(status, 200)
  t.match(headers.get('content-type'), /^text\/event-stream/)
  t.same(shape(events), ['iteration', 'tool.call', 'tool.result', 'iteration', 'answer.delta…', 'done'], text)
  t.ok(events.filter((e) => e.event === 'answer.delta').length >= 2, 'the answer streams in several deltas')

  t.same(events[0]?.data, { index: 1 }, 'iteration carries its index')
  t.same(events[1]?.data, { index: 1, id: 'call_s1', name: 'calculator', arguments: '{"expression":"15 * 23 + 7"}' })
  t.match(events[2]?.data, {
    index: 1,
    id: 'call_s1',
    name: 'calculator',
    arguments: '{"expression":"15 * 23 + 7"}',
    result: '352',
    error: null,
    duration_ms: Number,
  })
  t.same(events[3]?.data, { index: 2 })
  t.equal(deltas(events, 'answer.delta', 2), ANSWER, 'the answer deltas of the last iteration make the answer')
  t.ok(events.filter((e) => e.event === 'answer.delta').every((e) => e.data.index === 2), 'all of them in iteration 2')

  const done = events.at(-1)!.data
  t.equal(done.answer, ANSWER)
  t.equal(done.object, 'agent.run')
  t.match(done.usage, { prompt_tokens: 220, completion_tokens: 21, total_tokens: 241, cost_usd: Number })
  const traceContext = done.trace_context as { trace_id: string; span_id: string }
  t.equal(headers.get('x-trace-id'), traceContext.trace_id, 'x-trace-id is done’s trace')
  t.equal(headers.get('x-span-id'), traceContext.span_id, 'x-span-id is done’s span')
  t.match(headers.get('traceresponse'), new RegExp(`^00-${traceContext.trace_id}-${traceContext.span_id}-0[01]$`))

  scriptTwoIterations()
  const plain = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(plain.status, 200)
  t.same(comparable(done), comparable(plain.json), 'done carries the full summary, as the JSON answer has it (ids and durations aside)')
  t.not((plain.json.trace_context as Json).trace_id, traceContext.trace_id, 'each run its own trace')
})

t.test('with extended thinking: thinking.delta before the tool call, then the answer', async (t) => {
  const thinking = 'Multiply first, then add seven.'
  upstream.enqueue(
    anthropicTurn({ thinking: { text: thinking, signature: 'sig-stream-1' }, toolUses: [{ id: 'toolu_s1', name: 'calculator', input: { expression: '15*23+7' } }] }),
    anthropicTurn({ thinking: { text: 'It is 352.', signature: 'sig-stream-2' }, text: ANSWER }),
  )
  const { status, events, text } = await streamAgent(gateway.url, { model: 'claude-sonnet-4-5', messages, reasoning_effort: 'medium' })
  t.equal(status, 200)
  t.same(
    shape(events),
    ['iteration', 'thinking.delta…', 'tool.call', 'tool.result', 'iteration', 'thinking.delta…', 'answer.delta…', 'done'],
    text,
  )
  t.equal(deltas(events, 'thinking.delta', 1), thinking)
  t.equal(deltas(events, 'thinking.delta', 2), 'It is 352.')
  t.equal(deltas(events, 'answer.delta'), ANSWER)
  const done = events.at(-1)!.data as { iterations: Array<{ thinking: string }> }
  t.same(done.iterations.map((it) => it.thinking), [thinking, 'It is 352.'], 'done repeats the thinking per iteration')
})

t.test('parallel tool calls: every call starts before any result', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [calc('call_pa', '2+3'), calc('call_pb', '4*5')] }),
    openaiTurn({ content: '5 and 20' }),
  )
  const { events } = await streamAgent(gateway.url, { model: 'gpt-4o-mini', messages })
  t.same(shape(events), ['iteration', 'tool.call', 'tool.call', 'tool.result', 'tool.result', 'iteration', 'answer.delta…', 'done'])
  t.same(events.filter((e) => e.event === 'tool.result').map((e) => [e.data.id, e.data.result]).sort(), [['call_pa', '5'], ['call_pb', '20']])
})

t.test('text said next to a tool call: the summary counts it as thinking', async (t) => {
  upstream.enqueue(
    openaiTurn({ content: 'Let me compute that.', toolCalls: [calc('call_t', '15*23+7')] }),
    openaiTurn({ content: ANSWER }),
  )
  const { events } = await streamAgent(gateway.url, { model: 'gpt-4o-mini', messages })
  const done = events.at(-1)!.data as { answer: string; iterations: Array<{ thinking: string }> }
  t.equal(done.answer, ANSWER, 'the answer is the last turn’s text only')
  t.equal(done.iterations[0]?.thinking, 'Let me compute that.', 'the first turn’s text is its thinking')
  t.equal(deltas(events, 'answer.delta', 2), ANSWER, 'the last iteration’s answer.delta events make the answer')
})

t.test('an upstream failure mid-run ends the stream with event: error and trace_context', async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_f', '15*23')] }), upstreamFailure(500, 'upstream exploded'))
  const { status, headers, events, text } = await streamAgent(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(status, 200, 'the stream had started')
  t.same(shape(events), ['iteration', 'tool.call', 'tool.result', 'iteration', 'error'], text)
  const error = events.at(-1)!.data as { error: { message: string; type: string }; trace_context: { trace_id: string; span_id: string } }
  t.match(error.error, { message: /upstream exploded/, type: String }, 'the upstream’s message is passed on')
  t.equal(error.trace_context.trace_id, headers.get('x-trace-id'), 'error carries the run’s trace')
  t.equal(error.trace_context.span_id, headers.get('x-span-id'), 'and the agent span')
  t.notMatch(text, /event: done/, 'no done after an error')
  t.notMatch(text, /sk-test-agent-stream/, 'no secret in the stream')
})

t.test('a stream cut by the upstream mid-turn also ends in event: error', async (t) => {
  const turn = openaiTurn({ content: 'This answer will be cut off somewhere in the middle of it.' })
  upstream.enqueue({ ...turn, resetAfterBytes: Math.floor((turn.body ?? '').length / 2) })
  const { events, text } = await streamAgent(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(events.at(-1)?.event, 'error', text)
  t.match(events.at(-1)?.data, { error: { message: String }, trace_context: { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ } })
  t.notMatch(text, /event: done/)
})

t.test('the same failure without streaming: a 502 with trace_context', async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_f', '15*23')] }), upstreamFailure(500, 'upstream exploded'))
  const { status, headers, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(status, 502)
  t.match(json.error, { message: /upstream exploded/ })
  t.match(json.trace_context, { trace_id: headers.get('x-trace-id'), span_id: headers.get('x-span-id') })
})

t.test('a bad request with stream: true is a JSON 400, not a stream', async (t) => {
  const response = await fetch(`${gateway.url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true, tools: ['nope'] }),
  })
  t.equal(response.status, 400)
  t.match(response.headers.get('content-type'), /application\/json/)
  t.match(await response.json(), { error: { param: 'tools' } })
  t.equal(upstream.requests.length, 0)
})

t.test('client disconnect mid-run: the model call in flight is aborted, the gateway goes on', async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_d', '15*23')] }), { hang: true })
  const controller = new AbortController()
  const response = await fetch(`${gateway.url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }),
    signal: controller.signal,
  })
  t.equal(response.status, 200)
  const { text: read } = await readUntil(response, 'event: tool.result')
  t.match(read, /event: tool\.result/, 'the first tool result was delivered')
  await upstream.waitForRequests(2, 5_000)
  t.notOk(upstream.requests[1]?.aborted, 'the second model call is open while the client reads')
  const leftAt = Date.now()
  controller.abort()
  const aborted = await upstream.waitForAbort(1, 3_000)
  t.ok(aborted.aborted, 'the emulator saw the hanging model call aborted')
  t.ok((aborted.closedAt ?? Infinity) - leftAt < 2_000, 'promptly, not after a timeout')
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.equal(upstream.requests.length, 2, 'no further model call after the client left')

  scriptTwoIterations()
  const after = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages })
  t.equal(after.status, 200, 'the gateway keeps serving')
  t.equal(after.json.answer, ANSWER)
})

t.test('client disconnect without streaming aborts the model call too', async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_d2', '15*23')] }), { hang: true })
  const controller = new AbortController()
  const pending = fetch(`${gateway.url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
    signal: controller.signal,
  }).catch((error: unknown) => error)
  await upstream.waitForRequests(2, 5_000)
  controller.abort()
  t.match(await pending, { name: 'AbortError' })
  const aborted = await upstream.waitForAbort(1, 3_000)
  t.ok(aborted.aborted, 'the emulator saw the abort')
  const health = await fetch(`${gateway.url}/health`)
  t.equal(health.status, 200, 'still healthy')
})

t.test('agentEvents reads what streamAgent read (self-check of the helper)', async (t) => {
  t.same(agentEvents('event: iteration\ndata: {"index":1}\n\n'), [{ event: 'iteration', data: { index: 1 } }])
  t.throws(() => agentEvents('data: {}\n\n'), /unnamed/)
})
