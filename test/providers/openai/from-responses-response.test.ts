// Chat completion → Response object, on recorded chat answers: what a Responses client reads
// (output items, status, usage) and the facts the dispatch meters.
import t from 'tap'
import type { Message } from '@anthropic-ai/sdk/resources/messages'
import { fromAnthropicMessage } from '../../../src/providers/anthropic/translate-response.ts'
import { responsesToChat } from '../../../src/providers/openai/from-responses.ts'
import { loadFixture } from '../../support/fixtures.ts'

type Json = Record<string, unknown>

/** The fields OpenAI's `Response` schema requires (openai-openapi, components.schemas.Response). */
const REQUIRED_RESPONSE_FIELDS = [
  'id', 'object', 'created_at', 'error', 'incomplete_details', 'instructions', 'model', 'tools', 'output',
  'parallel_tool_calls', 'metadata', 'tool_choice', 'temperature', 'top_p',
]

function recordedCompletion(name: string): Json {
  return JSON.parse(loadFixture(name).response.body) as Json
}

function completion(message: Json, extra: Json = {}): Json {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'm-1',
    choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    ...extra,
  }
}

t.test('a recorded text answer: a completed Response with one message, usage and facts', async (t) => {
  const chat = recordedCompletion('openai-chat-text-nonstream')
  const answer = responsesToChat.response(chat, { model: 'demo', input: 'hi' })
  const body = answer.body
  for (const field of REQUIRED_RESPONSE_FIELDS) t.ok(field in body, `${field} present`)
  t.match(body.id, /^resp_[0-9a-f]{48}$/)
  t.equal(body.object, 'response')
  t.equal(body.status, 'completed')
  t.equal(body.model, 'gpt-3.5-turbo-0125')
  t.notOk('output_text' in body, 'output_text is the SDK\'s, not the wire\'s')
  const output = body.output as Json[]
  t.equal(output.length, 1)
  t.match(output[0], { type: 'message', role: 'assistant', status: 'completed', id: /^msg_/ })
  const text = ((chat.choices as Json[])[0]?.message as Json).content
  t.same(output[0]?.content, [{ type: 'output_text', annotations: [], logprobs: [], text }])
  t.same(body.usage, {
    input_tokens: 15,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: 19,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 34,
  })
  t.same(answer.usage, { input: 15, output: 19, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: 0 })
  t.equal(answer.model, 'gpt-3.5-turbo-0125')
  t.equal(answer.id, chat.id, 'the facts are the upstream\'s')
  t.same(answer.finishReasons, ['stop'])
})

t.test('the request fields OpenAI echoes are echoed', async (t) => {
  const tools = [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} } }]
  const request = {
    model: 'x', input: 'hi', instructions: 'Be brief.', tools, tool_choice: 'required', parallel_tool_calls: false,
    temperature: 0.3, top_p: 0.8, max_output_tokens: 99, metadata: { k: 'v' }, store: false,
    text: { format: { type: 'json_object' } }, reasoning: { effort: 'low' }, previous_response_id: 'resp_0', user: 'u',
  }
  const body = responsesToChat.response(completion({ content: '{}' }), request).body
  t.match(body, {
    instructions: 'Be brief.', tools, tool_choice: 'required', parallel_tool_calls: false, temperature: 0.3, top_p: 0.8,
    max_output_tokens: 99, metadata: { k: 'v' }, store: false, previous_response_id: 'resp_0', user: 'u',
    text: { format: { type: 'json_object' }, verbosity: 'medium' }, reasoning: { effort: 'low', summary: null },
  })
})

t.test('recorded parallel tool calls: one function_call item per call, call ids kept', async (t) => {
  const chat = recordedCompletion('openai-chat-parallel-tool-calls-nonstream')
  const answer = responsesToChat.response(chat, { input: 'x' })
  const calls = ((chat.choices as Json[])[0]?.message as Json).tool_calls as Array<{ id: string; function: Json }>
  t.same((answer.body.output as Json[]).map((item) => ({ ...item, id: String(item.id).slice(0, 3) })), calls.map((call) => ({
    id: 'fc_', type: 'function_call', status: 'completed', call_id: call.id, name: call.function.name, arguments: call.function.arguments,
  })))
  t.equal(answer.body.status, 'completed')
  t.same(answer.finishReasons, ['tool_calls'])
})

t.test('recorded usage details: cached prompt tokens and reasoning tokens', async (t) => {
  const cached = responsesToChat.response(recordedCompletion('openai-chat-prompt-cache-hit-nonstream'), { input: 'x' })
  t.match(cached.body.usage, { input_tokens: 1149, input_tokens_details: { cached_tokens: 1024 }, total_tokens: 1502 })
  t.equal(cached.usage?.cacheRead, 1024)
  const reasoning = responsesToChat.response(recordedCompletion('openai-chat-reasoning-tokens-nonstream'), { input: 'x' })
  t.match(reasoning.body.usage, { output_tokens: 138, output_tokens_details: { reasoning_tokens: 128 } })
  t.equal(reasoning.usage?.reasoning, 128)
})

t.test('a cache write an upstream reported (Anthropic through chat) is kept', async (t) => {
  const usage = { prompt_tokens: 1167, completion_tokens: 9, total_tokens: 1176, prompt_tokens_details: { cached_tokens: 0 }, cache_creation_input_tokens: 1163 }
  const answer = responsesToChat.response(completion({ content: 'ok' }, { usage }), { input: 'x' })
  t.same((answer.body.usage as Json).input_tokens_details, { cached_tokens: 0, cache_write_tokens: 1163 })
  t.equal(answer.usage?.cacheWrite, 1163)
})

t.test('a recorded refusal is a refusal part', async (t) => {
  const chat = recordedCompletion('openai-chat-json-schema-refusal-nonstream')
  const refusal = ((chat.choices as Json[])[0]?.message as Json).refusal
  const output = responsesToChat.response(chat, { input: 'x' }).body.output as Json[]
  t.same(output[0]?.content, [{ type: 'refusal', refusal }])
})

t.test('a call to a custom or namespaced tool comes back as that tool\'s item', async (t) => {
  const request = {
    input: 'x',
    tools: [
      { type: 'custom', name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: x' } },
      { type: 'namespace', name: 'crm', description: '', tools: [{ type: 'function', name: 'lookup' }] },
    ],
  }
  const toolCalls = [
    { id: 'call_1', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch\\n"}' } },
    { id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } },
    { id: 'call_3', type: 'function', function: { name: 'apply_patch', arguments: 'not json' } },
  ]
  const output = responsesToChat.response(completion({ tool_calls: toolCalls }), request).body.output as Json[]
  t.match(output[0], { type: 'custom_tool_call', id: /^ctc_/, status: 'completed', call_id: 'call_1', name: 'apply_patch', input: '*** Begin Patch\n' })
  t.notOk('arguments' in (output[0] ?? {}))
  t.match(output[1], { type: 'function_call', call_id: 'call_2', name: 'lookup', namespace: 'crm', arguments: '{"q":1}' })
  t.match(output[2], { type: 'custom_tool_call', input: 'not json' }, 'arguments not in the expected shape: the input as it came')
})

t.test('cut by the token limit: incomplete, and the item being written marked so', async (t) => {
  const chat = completion({ content: 'The answer is' })
  ;((chat.choices as Json[])[0] as Json).finish_reason = 'length'
  const answer = responsesToChat.response(chat, { input: 'x' })
  t.equal(answer.body.status, 'incomplete')
  t.same(answer.body.incomplete_details, { reason: 'max_output_tokens' })
  t.equal(answer.body.completed_at, null)
  t.equal((answer.body.output as Json[])[0]?.status, 'incomplete')
  t.same(answer.finishReasons, ['length'])
})

t.test('recorded Claude thinking: a reasoning item whose blocks come back on the next turn, signature intact', async (t) => {
  const message = JSON.parse(loadFixture('anthropic-messages-thinking-nonstream').response.body) as Message
  const chat = fromAnthropicMessage(message).body as unknown as Json
  const output = responsesToChat.response(chat, { input: 'Count the r in strawberry' }).body.output as Json[]
  t.same(output.map((item) => item.type), ['reasoning', 'message'])
  const [thinking] = message.content
  const reasoning = output[0] as Json
  t.same(reasoning.summary, [{ type: 'summary_text', text: thinking?.type === 'thinking' ? thinking.thinking : '' }])
  t.type(reasoning.encrypted_content, 'string')

  // The caller sends the output back as input (what Codex and the Agents SDK do with store: false).
  const next = responsesToChat.request({ input: [{ role: 'user', content: 'Count the r in strawberry' }, ...output, { role: 'user', content: 'Sure?' }] }, 'm', false)
  const assistant = (next.body.messages as Json[])[1] as Json
  t.same(assistant.thinking_blocks, [thinking], 'the signed block as Anthropic sent it')
  t.equal(assistant.reasoning_content, thinking?.type === 'thinking' ? thinking.thinking : '')
  t.equal(assistant.content, "The letter 'r' appears 3 times in the word \"strawberry\".")
})
