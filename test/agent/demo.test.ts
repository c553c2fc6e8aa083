// The point 6: with no API keys at all, the offline demo provider drives a full agent run
// ("Solve: 15 * 23 + 7" → calculator → 352), streamed and not, and says it is a demo. Also the
// tool listing a newcomer looks at first (GET /v1/agents/tools).
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { comparable, postAgent, streamAgent, type Json } from './helpers.ts'

const gateway = await startGateway() // the test environment: no OPENAI_API_KEY, no ANTHROPIC_API_KEY
t.teardown(() => gateway.stop())

const messages = [{ role: 'user', content: 'Solve: 15 * 23 + 7' }]

interface Summary {
  answer: string
  model: string
  iterations: Array<{ index: number; thinking: string; tool_calls: Array<{ name: string; arguments: string; result: string | null; error: string | null }> }>
  usage: Record<string, number>
  trace_context: { trace_id: string; span_id: string }
}

/** A subtest's `t`. */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

function assertSolved(t: Test, summary: Summary): void {
  t.match(summary.answer, /\b352\b/, 'the answer is 352')
  t.match(summary.answer, /demo/i, 'and says it comes from the demo')
  t.equal(summary.iterations.length, 2, 'one iteration calls the tool, the next answers')
  const call = summary.iterations[0]?.tool_calls[0]
  t.equal(call?.name, 'calculator')
  t.match(JSON.parse(call?.arguments ?? '{}'), { expression: /15\s*\*\s*23\s*\+\s*7/ }, 'the arithmetic from the prompt')
  t.equal(call?.result, '352', 'computed by the real calculator')
  t.equal(call?.error, null)
  t.same(summary.iterations[1]?.tool_calls, [])
  t.ok((summary.usage.prompt_tokens ?? 0) > 0 && (summary.usage.completion_tokens ?? 0) > 0, 'usage is counted')
  t.equal(summary.usage.cost_usd, 0, 'and costs a real zero')
  t.match(summary.trace_context, { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ })
}

t.test('demo-chat solves it without streaming', async (t) => {
  const { status, headers, json } = await postAgent(gateway.url, { model: 'demo-chat', messages })
  t.equal(status, 200, JSON.stringify(json))
  const summary = json as unknown as Summary
  t.equal(summary.model, 'demo-chat')
  assertSolved(t, summary)
  t.equal(headers.get('x-span-id'), summary.trace_context.span_id)
})

t.test('demo-chat solves it streamed, and done matches the JSON answer', async (t) => {
  const { status, events, text } = await streamAgent(gateway.url, { model: 'demo-chat', messages })
  t.equal(status, 200)
  const order = events.map((e) => e.event).filter((name, i, all) => !(name.endsWith('.delta') && all[i - 1] === name))
  t.same(order, ['iteration', 'tool.call', 'tool.result', 'iteration', 'answer.delta', 'done'], text)
  t.match(events.find((e) => e.event === 'tool.result')?.data, { name: 'calculator', result: '352' })
  const answer = events.filter((e) => e.event === 'answer.delta').map((e) => e.data.delta).join('')
  const done = events.at(-1)!.data as unknown as Summary
  t.equal(answer, done.answer, 'the answer deltas add up to the answer')
  assertSolved(t, done)
  const plain = await postAgent(gateway.url, { model: 'demo-chat', messages })
  t.same(comparable(done as unknown as Json), comparable(plain.json), 'the demo is deterministic: same summary either way')
})

t.test('demo-reasoner streams its thinking too', async (t) => {
  const { events } = await streamAgent(gateway.url, { model: 'demo-reasoner', messages, reasoning_effort: 'low' })
  const done = events.at(-1)!.data as unknown as Summary
  t.equal(events.at(-1)?.event, 'done')
  assertSolved(t, done)
  const thinking = events.filter((e) => e.event === 'thinking.delta' && e.data.index === 1).map((e) => e.data.delta).join('')
  t.ok(thinking.length > 0, 'thinking.delta events in iteration 1')
  t.equal(done.iterations[0]?.thinking, thinking, 'the streamed thinking is the iteration’s thinking')
})

t.test('GET /v1/agents/tools lists the built-in tools', async (t) => {
  const response = await fetch(`${gateway.url}/v1/agents/tools`)
  t.equal(response.status, 200)
  const body = (await response.json()) as { object: string; data: Array<{ name: string; description: string; source: string; parameters: Json }> }
  t.equal(body.object, 'list')
  const names = body.data.map((tool) => tool.name)
  t.ok(names.includes('calculator') && names.includes('current_time'), names.join(', '))
  const calculator = body.data.find((tool) => tool.name === 'calculator')
  t.match(calculator, { source: 'builtin', description: /\S/, parameters: { type: 'object', properties: { expression: { type: 'string' } } } })
  for (const name of names) t.match(name, /^[a-zA-Z0-9_-]{1,64}$/, `${name} is a valid OpenAI function name`)
})
