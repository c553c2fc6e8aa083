// The reasoning agent through Anthropic (the point 1: native tool_use via the same
// adapter as chat): tool_use turns from the emulator, tool_result blocks sent back in a user turn
// with the right tool_use_id, extended thinking turned on by reasoning_effort, the thinking text
// as the iteration's `thinking`, and the signed thinking block replayed before the tool_use.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { startUpstream, type RecordedRequest } from '../support/upstream.ts'
import { anthropicTurn, postAgent, streamAgent, type Json } from './helpers.ts'

const upstream = await startUpstream({ seed: 5 })
const gateway = await startGateway({
  env: { ANTHROPIC_API_KEY: 'sk-ant-test-agent', ANTHROPIC_BASE_URL: upstream.anthropicBaseURL },
})
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
})
t.beforeEach(() => upstream.reset())

const QUESTION = 'What is 15 * 23 + 7? Use the calculator, one step at a time.'
const THINKING_1 = {
  text: 'I need 15 * 23 first, then add 7. Let me use the calculator for the product.',
  signature: 'EqQBCkYIBxgCIkBsig-one-abc123==',
}
const THINKING_2 = {
  text: 'The product is 345. Now 345 + 7.',
  signature: 'EqQBCkYIBxgCIkBsig-two-def456==',
}

interface AnthropicBody {
  model: string
  stream?: boolean
  max_tokens: number
  system?: unknown
  messages: Array<{ role: string; content: string | Json[] }>
  tools?: Array<{ name: string; input_schema: Json }>
  tool_choice?: Json
  thinking?: { type: string; budget_tokens?: number }
  temperature?: number
}
const bodyOf = (request: RecordedRequest | undefined) => request?.body as AnthropicBody

/** The text of a tool_result's content, whether a string or text blocks. */
function resultText(block: Json | undefined): string {
  const content = block?.content
  if (typeof content === 'string') return content
  return Array.isArray(content) ? content.map((b: { text?: string }) => b.text ?? '').join('') : ''
}

function scriptMultiStep(): void {
  upstream.enqueue(
    anthropicTurn({
      thinking: THINKING_1,
      toolUses: [{ id: 'toolu_step1', name: 'calculator', input: { expression: '15*23' } }],
      usage: { input: 400, output: 60 },
    }),
    anthropicTurn({
      thinking: THINKING_2,
      text: 'Now I add 7.',
      toolUses: [{ id: 'toolu_step2', name: 'calculator', input: { expression: '345+7' } }],
      usage: { input: 520, output: 70 },
    }),
    anthropicTurn({ text: 'The answer is 352.', usage: { input: 600, output: 12 } }),
  )
}

t.test('multi-step run with extended thinking: tool_use → tool_result → answer', async (t) => {
  scriptMultiStep()
  const { status, headers, json } = await postAgent(gateway.url, {
    model: 'claude-sonnet-4-5',
    messages: [{ role: 'user', content: QUESTION }],
    reasoning_effort: 'low',
  })
  t.equal(status, 200, JSON.stringify(json))
  t.equal(json.object, 'agent.run')
  t.equal(json.answer, 'The answer is 352.')
  const iterations = json.iterations as Array<{ index: number; thinking: string; tool_calls: Json[] }>
  t.equal(iterations.length, 3)
  t.match(iterations[0]?.tool_calls, [
    { id: 'toolu_step1', name: 'calculator', result: '345', error: null, duration_ms: Number },
  ])
  t.same(JSON.parse(String(iterations[0]?.tool_calls[0]?.arguments)), { expression: '15*23' }, 'tool_use input as JSON arguments')
  t.match(iterations[1]?.tool_calls, [{ id: 'toolu_step2', name: 'calculator', result: '352', error: null }])
  t.same(iterations[2]?.tool_calls, [])
  t.equal(iterations[0]?.thinking, THINKING_1.text, 'the thinking text becomes the iteration’s thinking')
  t.match(iterations[1]?.thinking, THINKING_2.text, 'the second iteration’s thinking')
  t.match(iterations[1]?.thinking, 'Now I add 7.', 'text said next to a tool call is thinking aloud, not the answer')
  t.equal(headers.get('x-span-id'), (json.trace_context as Json).span_id)

  const usage = json.usage as Record<string, number>
  t.equal(usage.prompt_tokens, 400 + 520 + 600)
  t.equal(usage.completion_tokens, 60 + 70 + 12)
  // claude-sonnet-4-5: $3 / M input, $15 / M output (SPEC: from the repo's pricing table).
  const expected = ((400 + 520 + 600) * 3 + (60 + 70 + 12) * 15) / 1e6
  t.ok(Math.abs((usage.cost_usd ?? 0) - expected) < 1e-9, `cost_usd ${usage.cost_usd} ≈ ${expected}`)

  // What Anthropic was sent.
  t.equal(upstream.requests.length, 3)
  for (const [i, request] of upstream.requests.entries()) {
    const body = bodyOf(request)
    t.equal(request.path, '/v1/messages', `call ${i + 1} went to the Messages API`)
    t.equal(body.model, 'claude-sonnet-4-5')
    t.equal(body.stream, true, 'the agent streams upstream')
    t.same(body.tools?.map((tool) => tool.name), ['calculator', 'current_time'], 'the tools in Anthropic’s format')
    t.match(body.tools?.[0]?.input_schema, { type: 'object', properties: { expression: { type: 'string' } } })
    // low effort caps the run at three model calls: the third is the final answer, without tools.
    t.match(body.tool_choice ?? { type: 'auto' }, { type: i < 2 ? 'auto' : 'none' }, i < 2 ? 'the model decides' : 'the capped last call')
    t.match(body.thinking, { type: 'enabled', budget_tokens: Number }, 'reasoning_effort turns extended thinking on')
    t.ok((body.thinking?.budget_tokens ?? 0) >= 1024, 'with a budget Anthropic accepts')
    t.ok(body.max_tokens > (body.thinking?.budget_tokens ?? 0), 'max_tokens leaves room for the answer')
  }

  const second = bodyOf(upstream.requests[1]).messages
  t.equal(second.length, 3, 'user, assistant, user (tool results)')
  t.match(second[0], { role: 'user' })
  const assistant = second[1]
  t.equal(assistant?.role, 'assistant')
  const blocks = assistant?.content as Json[]
  t.same(blocks[0], { type: 'thinking', thinking: THINKING_1.text, signature: THINKING_1.signature },
    'the signed thinking block goes back first, exactly as received')
  t.same(blocks[1], { type: 'tool_use', id: 'toolu_step1', name: 'calculator', input: { expression: '15*23' } },
    'then the tool_use')
  t.equal(blocks.length, 2)
  const results = second[2]
  t.equal(results?.role, 'user', 'tool results travel in a user turn')
  const resultBlocks = results?.content as Json[]
  t.equal(resultBlocks.length, 1)
  t.match(resultBlocks[0], { type: 'tool_result', tool_use_id: 'toolu_step1' })
  t.equal(resultText(resultBlocks[0]), '345')

  const third = bodyOf(upstream.requests[2]).messages
  t.equal(third.length, 5)
  const secondAssistant = third[3]?.content as Json[]
  t.same(secondAssistant.map((b) => b.type), ['thinking', 'text', 'tool_use'], 'thinking, then text, then tool_use')
  t.match(secondAssistant[0], { thinking: THINKING_2.text, signature: THINKING_2.signature })
  t.match(secondAssistant[2], { id: 'toolu_step2', input: { expression: '345+7' } })
  const lastResults = third[4]?.content as Json[]
  t.match(lastResults, [{ type: 'tool_result', tool_use_id: 'toolu_step2' }])
  t.equal(resultText(lastResults[0]), '352')
})

t.test('streamed: thinking arrives as thinking.delta of its iteration', async (t) => {
  scriptMultiStep()
  const { status, events } = await streamAgent(gateway.url, {
    model: 'claude-sonnet-4-5',
    messages: [{ role: 'user', content: QUESTION }],
    reasoning_effort: 'low',
  })
  t.equal(status, 200)
  const thinkingOf = (index: number) =>
    events.filter((e) => e.event === 'thinking.delta' && e.data.index === index).map((e) => e.data.delta).join('')
  t.equal(thinkingOf(1), THINKING_1.text, 'iteration 1’s thinking, streamed')
  t.match(thinkingOf(2), THINKING_2.text)
  const done = events.at(-1)
  t.equal(done?.event, 'done')
  t.equal(done?.data.answer, 'The answer is 352.')
  const answer = events.filter((e) => e.event === 'answer.delta' && e.data.index === 3).map((e) => e.data.delta).join('')
  t.equal(answer, 'The answer is 352.', 'the final answer streamed as answer.delta of the last iteration')
})

t.test('parallel tool_use blocks: both results in one user turn, in order', async (t) => {
  upstream.enqueue(
    anthropicTurn({
      text: 'Two sums at once.',
      toolUses: [
        { id: 'toolu_a', name: 'calculator', input: { expression: '2+3' } },
        { id: 'toolu_b', name: 'calculator', input: { expression: '4*5' } },
      ],
    }),
    anthropicTurn({ text: '5 and 20.' }),
  )
  const { status, json } = await postAgent(gateway.url, {
    model: 'claude-3-5-haiku-20241022',
    messages: [{ role: 'user', content: 'Compute 2+3 and 4*5.' }],
    temperature: 0.3,
  })
  t.equal(status, 200, JSON.stringify(json))
  t.equal(json.answer, '5 and 20.')
  const first = bodyOf(upstream.requests[0])
  t.notOk('thinking' in first, 'no extended thinking for a model without it')
  t.equal(first.temperature, 0.3, 'temperature passes when thinking is off')
  const followUp = bodyOf(upstream.requests[1]).messages
  t.equal(followUp.length, 3)
  t.same((followUp[1]?.content as Json[]).map((b) => b.type), ['text', 'tool_use', 'tool_use'])
  const results = followUp[2]?.content as Json[]
  t.equal(followUp[2]?.role, 'user')
  t.same(results.map((b) => [b.type, b.tool_use_id, resultText(b)]), [
    ['tool_result', 'toolu_a', '5'],
    ['tool_result', 'toolu_b', '20'],
  ])
})

t.test('a failing tool: the error goes back as the tool_result, the run answers', async (t) => {
  upstream.enqueue(
    anthropicTurn({ toolUses: [{ id: 'toolu_bad', name: 'calculator', input: { expression: '1/0' } }] }),
    anthropicTurn({ text: 'Division by zero is undefined.' }),
  )
  const { status, json } = await postAgent(gateway.url, {
    model: 'claude-3-5-haiku-20241022',
    messages: [{ role: 'user', content: 'Compute 1/0' }],
  })
  t.equal(status, 200)
  const call = (json.iterations as Array<{ tool_calls: Json[] }>)[0]?.tool_calls[0]
  t.match(call, { id: 'toolu_bad', result: null, error: /division by zero/ })
  const results = bodyOf(upstream.requests[1]).messages[2]?.content as Json[]
  t.match(results[0], { type: 'tool_result', tool_use_id: 'toolu_bad' })
  t.match(resultText(results[0]), /^Error: .*division by zero/)
  t.equal(json.answer, 'Division by zero is undefined.')
})

t.test('iteration cap: tool_choice none and the nudge after the last tool_result', async (t) => {
  upstream.enqueue(
    anthropicTurn({ toolUses: [{ id: 'toolu_cap', name: 'calculator', input: { expression: '15*23' } }] }),
    anthropicTurn({ text: 'About 352.' }),
  )
  const { status, json } = await postAgent(gateway.url, {
    model: 'claude-3-5-haiku-20241022',
    messages: [{ role: 'user', content: QUESTION }],
    max_iterations: 2,
  })
  t.equal(status, 200, JSON.stringify(json))
  t.equal(upstream.requests.length, 2)
  const last = bodyOf(upstream.requests[1])
  t.match(last.tool_choice, { type: 'none' }, 'tools are off for the final answer')
  const finalTurn = last.messages.at(-1)
  t.equal(finalTurn?.role, 'user')
  const blocks = finalTurn?.content as Json[]
  t.match(blocks[0], { type: 'tool_result', tool_use_id: 'toolu_cap' }, 'the tool_result comes first in the user turn')
  t.match(blocks.at(-1), { type: 'text', text: /answer/i }, 'then the request for a final answer')
  t.equal(json.answer, 'About 352.')
})

t.test('reasoning_effort picks the thinking budget', async (t) => {
  const budgets: number[] = []
  for (const effort of ['low', 'medium', 'high']) {
    upstream.reset()
    upstream.enqueue(anthropicTurn({ thinking: THINKING_1, text: '352' }))
    const { status } = await postAgent(gateway.url, {
      model: 'claude-3-7-sonnet-20250219',
      messages: [{ role: 'user', content: QUESTION }],
      reasoning_effort: effort,
    })
    t.equal(status, 200)
    const thinking = bodyOf(upstream.requests[0]).thinking
    t.match(thinking, { type: 'enabled', budget_tokens: Number }, `${effort}: thinking on for claude-3-7-sonnet`)
    budgets.push(thinking?.budget_tokens ?? 0)
  }
  t.ok(budgets[0]! < budgets[1]! && budgets[1]! < budgets[2]!, `budgets rise with the effort: ${budgets.join(' < ')}`)
})
