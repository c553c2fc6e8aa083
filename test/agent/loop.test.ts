// POST /v1/agents/reasoning against the OpenAI emulator (SPEC §1 and the point 1): the
// loop with native tool calling — what the model is sent each iteration (tools, tool_choice,
// the assistant tool_calls and the `tool` results), what the caller gets back (answer,
// iterations, summed usage and cost), tools run concurrently, failing tools as error results,
// tool restriction, the iteration cap with its final no-tools answer, and reasoning_effort
// forwarded only to models that take it.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ReasoningAgent, type AgentEvent, type IterationRecord } from '../../src/agent/loop.ts'
import { Toolbox } from '../../src/agent/toolbox.ts'
import type { AgentTool } from '../../src/agent/tools/types.ts'
import { ModelRouter } from '../../src/core/router.ts'
import type { ChatRequest, ProviderAdapter } from '../../src/core/types.ts'
import { Dispatch } from '../../src/core/dispatch.ts'
import { translatorFor } from '../../src/providers/translators.ts'
import { PriceBook } from '../../src/pricing/cost.ts'
import { startGateway } from '../support/gateway.ts'
import { startUpstream } from '../support/upstream.ts'
import { calc, offeredTools, openaiMessages, openaiRawTurn, openaiTurn, postAgent, type Json } from './helpers.ts'

const upstream = await startUpstream({ seed: 11 })
// OpenAI-compatible servers whose streams differ from OpenAI's, all played by the same emulator.
const dir = mkdtempSync(join(tmpdir(), 'agent-loop-'))
const compatible = { baseURL: upstream.openaiBaseURL }
writeFileSync(join(dir, 'providers.json'), JSON.stringify({ providers: { deepseek: compatible, ollama: compatible, gemini: compatible } }))
const gateway = await startGateway({
  env: { OPENAI_API_KEY: 'sk-test-agent-loop', OPENAI_BASE_URL: upstream.openaiBaseURL, GATEWAY_CONFIG: join(dir, 'providers.json') },
})
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})
t.beforeEach(() => upstream.reset())

const QUESTION = 'What is 15 * 23 + 7? Use the calculator, one step at a time.'
const user = { role: 'user', content: QUESTION }

const iterationsOf = (body: Json) => body.iterations as IterationRecord[]

/** What one model call costs when the gateway bills it as a chat completion. */
async function chatCost(input: number, output: number): Promise<number> {
  upstream.enqueue({
    status: 200,
    json: {
      id: 'chatcmpl-cost',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
    },
  })
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  })
  const body = (await response.json()) as { usage: { cost_usd: number } }
  return body.usage.cost_usd
}

t.test('multi-step run: two tool calls across two iterations, then the answer', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [calc('call_step1', '15*23')], usage: { input: 120, output: 18 } }),
    openaiTurn({ toolCalls: [calc('call_step2', '345+7')], usage: { input: 160, output: 19 } }),
    openaiTurn({ content: 'The answer is 352.', usage: { input: 190, output: 7 } }),
  )
  const { status, headers, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user], temperature: 0.2 })
  t.equal(status, 200, JSON.stringify(json))
  t.equal(json.object, 'agent.run')
  t.equal(json.model, 'gpt-4o-mini')
  t.type(json.id, 'string')
  t.equal(json.answer, 'The answer is 352.', 'the last turn’s text is the answer')

  const iterations = iterationsOf(json)
  t.equal(iterations.length, 3, 'one iteration per model call')
  t.same(iterations.map((it) => it.index), [1, 2, 3])
  t.match(iterations[0]?.tool_calls, [
    { id: 'call_step1', name: 'calculator', arguments: '{"expression":"15*23"}', result: '345', error: null, duration_ms: Number },
  ])
  t.match(iterations[1]?.tool_calls, [
    { id: 'call_step2', name: 'calculator', arguments: '{"expression":"345+7"}', result: '352', error: null, duration_ms: Number },
  ])
  t.same(iterations[2]?.tool_calls, [], 'the answering iteration calls no tool')
  for (const it of iterations) {
    t.type(it.thinking, 'string', `iteration ${it.index} has a thinking string`)
    for (const call of it.tool_calls) t.ok(call.duration_ms >= 0, 'duration_ms is a non-negative number')
  }
  const traceContext = json.trace_context as { trace_id: string; span_id: string }
  t.match(traceContext, { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ })
  t.equal(headers.get('x-trace-id'), traceContext.trace_id, 'x-trace-id is the body’s trace')
  t.equal(headers.get('x-span-id'), traceContext.span_id, 'x-span-id is the body’s span (the agent span)')

  // What the model saw.
  t.equal(upstream.requests.length, 3, 'three model calls')
  for (const [i, request] of upstream.requests.entries()) {
    const body = request.body as Json
    t.equal(request.path, '/v1/chat/completions', `call ${i + 1} went to chat completions`)
    t.equal(body.model, 'gpt-4o-mini')
    t.equal(body.stream, true, 'the agent streams upstream')
    t.match(body.stream_options, { include_usage: true }, 'and asks for usage')
    t.same(offeredTools(request), ['calculator', 'current_time'], 'every enabled tool is offered by default')
    t.equal(body.tool_choice, 'auto', 'the model decides (tool_choice auto)')
    t.equal(body.temperature, 0.2, 'temperature goes to every model call')
    t.notOk('reasoning_effort' in body, 'no reasoning_effort for gpt-4o-mini (it would be a 400)')
  }
  const calculator = (upstream.requests[0]?.body as { tools: Json[] }).tools[0]
  t.match(calculator, {
    type: 'function',
    function: { name: 'calculator', description: String, parameters: { type: 'object', properties: { expression: { type: 'string' } } } },
  }, 'tools in OpenAI function format with their JSON schema')

  t.same(openaiMessages(upstream.requests[0]), [user], 'the first call carries the caller’s messages')
  const second = openaiMessages(upstream.requests[1])
  t.equal(second.length, 3)
  t.same(second[0], user)
  t.match(second[1], {
    role: 'assistant',
    tool_calls: [{ id: 'call_step1', type: 'function', function: { name: 'calculator', arguments: '{"expression":"15*23"}' } }],
  }, 'the assistant turn with its tool_calls comes back first')
  t.same(second[2], { role: 'tool', tool_call_id: 'call_step1', content: '345' }, 'then the result as a tool message')

  const third = openaiMessages(upstream.requests[2])
  t.equal(third.length, 5, 'the conversation grows by one assistant turn and one result per step')
  t.same(third.slice(0, 3), second, 'earlier turns are sent again unchanged')
  t.match(third[3], { role: 'assistant', tool_calls: [{ id: 'call_step2', function: { name: 'calculator', arguments: '{"expression":"345+7"}' } }] })
  t.same(third[4], { role: 'tool', tool_call_id: 'call_step2', content: '352' })

  // Usage and cost, summed over the three calls.
  const usage = json.usage as Record<string, number>
  t.equal(usage.prompt_tokens, 120 + 160 + 190, 'prompt tokens summed over every model call')
  t.equal(usage.completion_tokens, 18 + 19 + 7, 'completion tokens summed')
  t.equal(usage.total_tokens, 120 + 160 + 190 + 18 + 19 + 7, 'total tokens summed')
  t.match(json.usage, { prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } }, "OpenAI's usage shape, as on a chat completion")
  t.notOk('cached_tokens' in usage, 'not a flattened one')
  t.type(usage.cost_usd, 'number', 'cost_usd for a priced model')
  const perTurn = [await chatCost(120, 18), await chatCost(160, 19), await chatCost(190, 7)]
  const sum = perTurn.reduce((a, b) => a + b, 0)
  t.ok(perTurn.every((c) => c > 0), 'each turn has a price')
  t.ok(Math.abs((usage.cost_usd ?? 0) - sum) < 1e-9, `cost_usd ${usage.cost_usd} = the sum of per-call costs ${sum}`)
})

t.test('parallel tool calls in one turn: both run, both results go back in one follow-up', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [calc('call_par_a', '2+3'), calc('call_par_b', '4*5')] }),
    openaiTurn({ content: 'Results: 5 and 20.' }),
  )
  const { status, json } = await postAgent(gateway.url, {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Compute 2+3 and 4*5.' }],
  })
  t.equal(status, 200, JSON.stringify(json))
  const iterations = iterationsOf(json)
  t.equal(iterations.length, 2)
  t.match(iterations[0]?.tool_calls, [
    { id: 'call_par_a', name: 'calculator', result: '5', error: null },
    { id: 'call_par_b', name: 'calculator', result: '20', error: null },
  ], 'both calls recorded in the order the model made them')
  t.equal(json.answer, 'Results: 5 and 20.')
  t.equal(upstream.requests.length, 2, 'one follow-up carries both results')
  const followUp = openaiMessages(upstream.requests[1])
  t.match(followUp[1], { role: 'assistant', tool_calls: [{ id: 'call_par_a' }, { id: 'call_par_b' }] })
  t.same(followUp.slice(2), [
    { role: 'tool', tool_call_id: 'call_par_a', content: '5' },
    { role: 'tool', tool_call_id: 'call_par_b', content: '20' },
  ], 'one tool message per call, right after the assistant turn')
})

for (const [expression, error] of [
  ['1/0', /division by zero/],
  ['2+', /unexpected end of expression/],
] as const) {
  t.test(`a failing tool (${expression}) becomes an error result and the run goes on`, async (t) => {
    upstream.enqueue(
      openaiTurn({ toolCalls: [calc('call_bad', expression)] }),
      openaiTurn({ content: 'That expression cannot be evaluated.' }),
    )
    const { status, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Compute ${expression}` }] })
    t.equal(status, 200, 'a tool error is not a failed run')
    const call = iterationsOf(json)[0]?.tool_calls[0]
    t.match(call, { id: 'call_bad', name: 'calculator', result: null, error })
    t.equal(json.answer, 'That expression cannot be evaluated.', 'the model answered after seeing the error')
    const result = openaiMessages(upstream.requests[1]).at(-1) as { role: string; tool_call_id: string; content: string }
    t.equal(result.role, 'tool')
    t.equal(result.tool_call_id, 'call_bad')
    t.match(result.content, /^Error: /, 'the model reads the error as `Error: …`')
    t.equal(result.content, `Error: ${call?.error}`, 'the same message the caller sees')
  })
}

t.test('bad tool arguments and a tool the model made up are error results too', async (t) => {
  upstream.enqueue(
    openaiTurn({
      toolCalls: [
        { id: 'call_json', name: 'calculator', arguments: '{"expression": "1+' },
        { id: 'call_ghost', name: 'web_search', arguments: '{"q":"x"}' },
      ],
    }),
    openaiTurn({ content: 'Sorry.' }),
  )
  const { status, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user] })
  t.equal(status, 200)
  const [bad, ghost] = iterationsOf(json)[0]?.tool_calls ?? []
  t.match(bad, { id: 'call_json', result: null, error: /JSON/ }, 'arguments that are not JSON')
  t.match(ghost, { id: 'call_ghost', name: 'web_search', result: null, error: /web_search/ }, 'an unknown tool')
  t.match(openaiMessages(upstream.requests[1]).slice(-2), [
    { role: 'tool', tool_call_id: 'call_json', content: /^Error: / },
    { role: 'tool', tool_call_id: 'call_ghost', content: /^Error: / },
  ])
})

t.test('tools: ["current_time"] offers only that tool', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [{ id: 'call_time', name: 'current_time', arguments: '{"timezone":"UTC"}' }] }),
    openaiTurn({ content: 'It is now.' }),
  )
  const { status, json } = await postAgent(gateway.url, {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'What time is it?' }],
    tools: ['current_time'],
  })
  t.equal(status, 200, JSON.stringify(json))
  t.equal(upstream.requests.length, 2)
  for (const request of upstream.requests) t.same(offeredTools(request), ['current_time'], 'only the named tool is offered')
  const call = iterationsOf(json)[0]?.tool_calls[0]
  t.match(call, { name: 'current_time', error: null })
  const result = JSON.parse(call?.result ?? '{}') as { timezone?: string; iso?: string; unix?: number }
  t.equal(result.timezone, 'UTC')
  t.ok(Math.abs((result.unix ?? 0) - Date.now() / 1000) < 60, 'the real clock')
})

t.test('an unknown tool name is a 400 naming `tools`, and no model is called', async (t) => {
  const { status, headers, json } = await postAgent(gateway.url, {
    model: 'gpt-4o-mini',
    messages: [user],
    tools: ['calculator', 'no_such_tool'],
  })
  t.equal(status, 400)
  const error = json.error as { type: string; param: string; message: string }
  t.equal(error.type, 'invalid_request_error')
  t.equal(error.param, 'tools')
  t.match(error.message, /no_such_tool/, 'the message names the unknown tool')
  t.match(json.trace_context, { trace_id: /^[0-9a-f]{32}$/ }, 'errors carry trace_context')
  t.match(headers.get('x-trace-id'), /^[0-9a-f]{32}$/)
  t.equal(upstream.requests.length, 0)
})

t.test('bad bodies are 400s that name the field', async (t) => {
  for (const [body, param] of [
    [{ model: 'gpt-4o-mini', messages: [user], reasoning_effort: 'extreme' }, /reasoning_effort/],
    [{ model: 'gpt-4o-mini', messages: [user], max_iterations: 0 }, /max_iterations/],
    [{ model: 'gpt-4o-mini', messages: [user], max_iterations: 51 }, /max_iterations/],
    [{ model: 'gpt-4o-mini' }, /messages/],
  ] as const) {
    const { status, json } = await postAgent(gateway.url, body)
    t.equal(status, 400, JSON.stringify(body))
    const error = json.error as { param?: string; message: string }
    t.match(`${error.param ?? ''} ${error.message}`, param, `names ${param}`)
  }
  const unknownModel = await postAgent(gateway.url, { model: 'nope-1', messages: [user] })
  t.equal(unknownModel.status, 404, 'an unknown model is a 404')
  t.match(unknownModel.json.error, { code: 'model_not_found' })
  t.equal(upstream.requests.length, 0)
})

t.test('iteration cap: the last call has tool_choice none and the final-answer nudge', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [calc('call_cap1', '15*23')] }),
    openaiTurn({ content: 'Best effort: 352.' }),
  )
  const { status, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user], max_iterations: 2 })
  t.equal(status, 200, JSON.stringify(json))
  t.equal(upstream.requests.length, 2, 'no more model calls than max_iterations')
  const first = upstream.requests[0]?.body as Json
  const last = upstream.requests[1]?.body as Json
  t.equal(first.tool_choice, 'auto')
  t.equal(last.tool_choice, 'none', 'the model may not call tools at the cap')
  const messages = openaiMessages(upstream.requests[1])
  t.match(messages.at(-2), { role: 'tool', tool_call_id: 'call_cap1', content: '345' }, 'the last tool result is still delivered')
  t.match(messages.at(-1), { role: 'user', content: /answer/i }, 'followed by the request for a final answer')
  t.equal(json.answer, 'Best effort: 352.')
  t.equal(iterationsOf(json).length, 2)
})

t.test('iteration cap: a model that keeps calling tools is cut off after max_iterations', async (t) => {
  // A model that ignores tool_choice none: its tool calls at the cap are not run.
  upstream.enqueue(
    openaiTurn({ toolCalls: [calc('call_loop1', '1+1')] }),
    openaiTurn({ content: 'Still thinking', toolCalls: [calc('call_loop2', '2+2')] }),
    openaiTurn({ content: 'never asked' }),
  )
  const { status, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user], max_iterations: 2 })
  t.equal(status, 200, 'the run ends with what the model said, not an error')
  t.equal(upstream.requests.length, 2, 'exactly max_iterations model calls')
  t.equal((upstream.requests[1]?.body as Json).tool_choice, 'none', 'the 2nd call forbids tools')
  t.match(openaiMessages(upstream.requests[1]).at(-1), { role: 'user', content: /answer/i }, 'and asks for the final answer')
  t.equal(iterationsOf(json).length, 2)
  t.same(iterationsOf(json)[1]?.tool_calls, [], 'tool calls made at the cap are not run')
  t.equal(json.answer, 'Still thinking', 'the run answers with what the model said')
})

t.test('reasoning_effort caps model calls: low = 3', async (t) => {
  upstream.setDefault(openaiTurn({ toolCalls: [calc('call_again', '1+1')] }))
  const { status, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user], reasoning_effort: 'low' })
  t.equal(status, 200)
  t.equal(upstream.requests.length, 3, 'low: three model calls, the final forced answer included')
  t.equal(iterationsOf(json).length, 3)
  t.same(upstream.requests.map((r) => (r.body as Json).tool_choice), ['auto', 'auto', 'none'])
  t.notOk('reasoning_effort' in (upstream.requests[0]?.body as Json), 'still not forwarded to gpt-4o-mini')
})

t.test('reasoning_effort caps model calls: medium (the default) = 6, max_iterations overrides', async (t) => {
  upstream.setDefault(openaiTurn({ toolCalls: [calc('call_again', '1+1')] }))
  const medium = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user] })
  t.equal(medium.status, 200)
  t.equal(upstream.requests.length, 6, 'medium by default: six model calls')
  upstream.reset()
  upstream.setDefault(openaiTurn({ toolCalls: [calc('call_again', '1+1')] }))
  const overridden = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user], reasoning_effort: 'high', max_iterations: 4 })
  t.equal(overridden.status, 200)
  t.equal(upstream.requests.length, 4, 'max_iterations wins over the effort’s cap')
})

t.test('max_iterations 1: a single call without tools', async (t) => {
  upstream.enqueue(openaiTurn({ content: '352' }))
  const { status, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user], max_iterations: 1 })
  t.equal(status, 200)
  t.equal(upstream.requests.length, 1)
  t.equal((upstream.requests[0]?.body as Json).tool_choice, 'none')
  t.equal(json.answer, '352')
})

for (const model of ['o4-mini', 'gpt-5-mini']) {
  t.test(`a reasoning model (${model}) gets reasoning_effort upstream`, async (t) => {
    upstream.enqueue(
      openaiTurn({ toolCalls: [calc('call_r1', '15*23+7')], model }),
      openaiTurn({ content: '352', model }),
    )
    const { status, json } = await postAgent(gateway.url, { model, messages: [user], reasoning_effort: 'high' })
    t.equal(status, 200, JSON.stringify(json))
    t.equal(upstream.requests.length, 2)
    for (const request of upstream.requests) t.equal((request.body as Json).reasoning_effort, 'high', 'every call carries it')
    upstream.reset()
    upstream.enqueue(openaiTurn({ content: '352', model }))
    await postAgent(gateway.url, { model, messages: [user] })
    t.equal((upstream.requests[0]?.body as Json).reasoning_effort, 'medium', 'the default effort is medium')
  })
}

t.test('an empty tools list runs without tools', async (t) => {
  upstream.enqueue(openaiTurn({ content: 'No tools needed: 4.' }))
  const { status, json } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [user], tools: [] })
  t.equal(status, 200)
  const body = upstream.requests[0]?.body as Json
  t.notOk('tools' in body, 'no tools offered')
  t.notOk('tool_choice' in body, 'and no tool_choice without tools')
  t.equal(json.answer, 'No tools needed: 4.')
})

// ------------------------------------------------------------------ OpenAI-compatible streams
// The agent assembles streamed tool calls itself, so it must read them as the OpenAI SDK does:
// `id` and `name` are set (not appended) when a piece carries them, only `arguments` is appended.
// Compatible servers rely on that: some repeat the id (and name) on every piece (DeepSeek, Qwen,
// LiteLLM), Ollama numbers every call of a turn 0, others leave `index` out.

const fn = (name: string, args: string) => ({ name, arguments: args })

t.test('compatible server repeating id, type and name on every piece: one call, its own id', async (t) => {
  upstream.enqueue(
    openaiRawTurn([
      { role: 'assistant', content: null },
      { tool_calls: [{ index: 0, id: 'call_ds', type: 'function', function: fn('calculator', '') }] },
      { tool_calls: [{ index: 0, id: 'call_ds', type: 'function', function: fn('calculator', '{"expression":') }] },
      { tool_calls: [{ index: 0, id: 'call_ds', type: 'function', function: fn('calculator', '"15*23"}') }] },
    ]),
    openaiRawTurn([{ role: 'assistant', content: '345' }], 'stop'),
  )
  const { status, json } = await postAgent(gateway.url, { model: 'deepseek/deepseek-chat', messages: [user] })
  t.equal(status, 200, JSON.stringify(json))
  t.match(iterationsOf(json)[0]?.tool_calls, [{ id: 'call_ds', name: 'calculator', arguments: '{"expression":"15*23"}', result: '345', error: null }])
  const followUp = openaiMessages(upstream.requests[1])
  t.match(followUp[1], { role: 'assistant', tool_calls: [{ id: 'call_ds', function: { name: 'calculator' } }] })
  t.same(followUp[2], { role: 'tool', tool_call_id: 'call_ds', content: '345' }, 'the id the server gave, not repeated')
})

t.test('compatible server numbering every call 0 (Ollama): the calls stay apart', async (t) => {
  upstream.enqueue(
    openaiRawTurn([
      { role: 'assistant', content: '' },
      { tool_calls: [{ index: 0, id: 'call_o1', type: 'function', function: fn('calculator', '{"expression":"2+3"}') }] },
      { tool_calls: [{ index: 0, id: 'call_o2', type: 'function', function: fn('calculator', '{"expression":"4*5"}') }] },
    ]),
    openaiRawTurn([{ role: 'assistant', content: '5 and 20' }], 'stop'),
  )
  const { status, json } = await postAgent(gateway.url, { model: 'ollama/qwen2.5-coder', messages: [user] })
  t.equal(status, 200, JSON.stringify(json))
  t.match(iterationsOf(json)[0]?.tool_calls, [
    { id: 'call_o1', arguments: '{"expression":"2+3"}', result: '5', error: null },
    { id: 'call_o2', arguments: '{"expression":"4*5"}', result: '20', error: null },
  ])
  t.match(openaiMessages(upstream.requests[1]).slice(2), [
    { role: 'tool', tool_call_id: 'call_o1', content: '5' },
    { role: 'tool', tool_call_id: 'call_o2', content: '20' },
  ])
})

t.test('compatible server leaving index out: each call by its id', async (t) => {
  upstream.enqueue(
    openaiRawTurn([
      { role: 'assistant', content: null },
      { tool_calls: [{ id: 'call_g1', type: 'function', function: fn('calculator', '{"expression":"2+3"}') }] },
      { tool_calls: [{ id: 'call_g2', type: 'function', function: fn('calculator', '{"expression":"4*5"}') }] },
    ]),
    openaiRawTurn([{ role: 'assistant', content: '5 and 20' }], 'stop'),
  )
  const { status, json } = await postAgent(gateway.url, { model: 'gemini/gemini-2.5-flash', messages: [user] })
  t.equal(status, 200, JSON.stringify(json))
  t.match(iterationsOf(json)[0]?.tool_calls, [
    { id: 'call_g1', result: '5', error: null },
    { id: 'call_g2', result: '20', error: null },
  ])
})

// ------------------------------------------------------------------ in process: tool behaviour
// Built-in tools are fast and never hang; these use the agent with tools of its own and a
// scripted provider to show that one turn's calls run at once and that a hanging or crashing
// tool is an error result the run survives.

function scriptedProvider(turns: Array<Array<{ id: string; name: string; arguments: string }> | string>): ProviderAdapter & { seen: ChatRequest[] } {
  const seen: ChatRequest[] = []
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    data: { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] },
  })
  return {
    name: 'scripted',
    endpoint: undefined,
    apis: ['chat'],
    seen,
    async send(_api, body, stream) {
      if (!stream) throw new Error('the agent streams')
      seen.push(structuredClone(body) as ChatRequest)
      const turn = turns.shift() ?? 'done'
      async function* chunks() {
        if (typeof turn === 'string') {
          yield chunk({ role: 'assistant', content: turn })
          yield chunk({}, 'stop')
        } else {
          for (const [index, call] of turn.entries()) {
            yield chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }] })
          }
          yield chunk({}, 'tool_calls')
        }
        yield { data: { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } } }
      }
      return { events: chunks() }
    },
  }
}

function agentWith(tools: AgentTool[], provider: ProviderAdapter, toolTimeoutMs: number): ReasoningAgent {
  const router = new ModelRouter([provider], [], {})
  const dispatch = new Dispatch({ router, prices: new PriceBook([]), translatorFor, captureContent: false, totalTimeoutMs: 10_000, maxRetries: 0 })
  return new ReasoningAgent({ dispatch, router, toolbox: new Toolbox([{ tools: () => tools }], toolTimeoutMs) })
}

function tool(name: string, run: AgentTool['run']): AgentTool {
  return { name, description: name, parameters: { type: 'object', properties: {} }, source: 'test', run }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('in process: the calls of one turn run concurrently', async (t) => {
  // In order of time: a call's start is 'start', its end 'end'. Run one after another they
  // would alternate; run together, all three start before any ends, however loaded the machine.
  const order: string[] = []
  const slow = tool('slow', async () => {
    order.push('start')
    await sleep(300)
    order.push('end')
    return 'done'
  })
  const provider = scriptedProvider([
    [
      { id: 'a', name: 'slow', arguments: '{}' },
      { id: 'b', name: 'slow', arguments: '{}' },
      { id: 'c', name: 'slow', arguments: '{}' },
    ],
    'finished',
  ])
  const agent = agentWith([slow], provider, 5_000)
  const request = { model: 'scripted/m', messages: [{ role: 'user' as const, content: 'go' }] }
  const events: AgentEvent[] = []
  const summary = await agent.run(request, agent.prepare(request), new AbortController().signal, (e) => events.push(e))
  t.equal(summary.answer, 'finished')
  t.same(summary.iterations[0]?.tool_calls.map((c) => c.result), ['done', 'done', 'done'])
  t.same(order, ['start', 'start', 'start', 'end', 'end', 'end'], 'all three 300 ms tools ran at once, not one after another')
  t.same(
    events.filter((e) => e.event.startsWith('tool.')).map((e) => e.event),
    ['tool.call', 'tool.call', 'tool.call', 'tool.result', 'tool.result', 'tool.result'],
    'every call starts before any result',
  )
})

t.test('in process: a hanging tool times out and a crashing tool fails, as error results', async (t) => {
  const hanging = tool('hangs', () => new Promise<string>(() => {})) // ignores its signal, never settles
  const crashing = tool('crashes', async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'x')")
  })
  const fine = tool('fine', async () => 'ok')
  const provider = scriptedProvider([
    [
      { id: 'h', name: 'hangs', arguments: '{}' },
      { id: 'x', name: 'crashes', arguments: '{}' },
      { id: 'f', name: 'fine', arguments: '{}' },
    ],
    'answered anyway',
  ])
  const agent = agentWith([hanging, crashing, fine], provider, 200)
  const request = { model: 'scripted/m', messages: [{ role: 'user' as const, content: 'go' }] }
  const began = performance.now()
  const summary = await agent.run(request, agent.prepare(request), new AbortController().signal, () => {})
  t.ok(performance.now() - began < 2_000, 'the hanging tool does not hold the run beyond its timeout')
  t.equal(summary.answer, 'answered anyway', 'the run goes on')
  const [h, x, f] = summary.iterations[0]?.tool_calls ?? []
  t.match(h, { name: 'hangs', result: null, error: /timed out/ })
  t.ok((h?.duration_ms ?? 0) >= 190, 'it waited for the timeout')
  t.match(x, { name: 'crashes', result: null, error: /Cannot read properties/ })
  t.match(f, { name: 'fine', result: 'ok', error: null }, 'the healthy tool in the same turn is unaffected')
  const followUp = provider.seen[1]?.messages ?? []
  t.match(followUp.slice(-3), [
    { role: 'tool', tool_call_id: 'h', content: /^Error: .*timed out/ },
    { role: 'tool', tool_call_id: 'x', content: /^Error: Cannot read/ },
    { role: 'tool', tool_call_id: 'f', content: 'ok' },
  ], 'the model reads each outcome')
})
