// Chat completion → Anthropic Message, for /v1/messages callers of OpenAI(-compatible) models:
// the recorded chat answers, the usage in Anthropic's terms (input_tokens without the cached
// part), stop reasons the inverse of the Anthropic translator's finish reasons.
import t from 'tap'
import { chatPassthrough } from '../../../src/providers/openai/chat-passthrough.ts'
import { messagesToChat } from '../../../src/providers/openai/from-messages.ts'
import { messageUsage, stopReason } from '../../../src/providers/openai/messages-output.ts'
import { finishReason, toOpenAIUsage } from '../../../src/providers/anthropic/translate-response.ts'
import { GatewayError } from '../../../src/errors.ts'
import { openaiSseToCompletion } from '../../support/fixture-variants.ts'
import { loadFixture } from '../../support/fixtures.ts'

type Json = Record<string, unknown>

const REQUEST = { model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }

function recorded(name: string): Json {
  const body = loadFixture(name).response.body
  return name.includes('-stream') ? openaiSseToCompletion(body) : (JSON.parse(body) as Json)
}

function completion(message: Json, finish: string | null = 'stop', usage: Json = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }): Json {
  return { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-x', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }], usage }
}

t.test('a recorded text answer: a Message with the chat answer’s model, id behind msg_, usage in Anthropic terms', async (t) => {
  const chat = recorded('openai-chat-text-nonstream')
  const { body } = messagesToChat.response(chat, REQUEST)
  const choice = (chat.choices as Json[])[0] as { message: { content: string } }
  const usage = chat.usage as { prompt_tokens: number; completion_tokens: number; completion_tokens_details: { reasoning_tokens: number } }
  t.same(body, {
    id: `msg_${String(chat.id)}`,
    type: 'message',
    role: 'assistant',
    model: chat.model,
    content: [{ type: 'text', text: choice.message.content }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: usage.prompt_tokens,
      output_tokens: usage.completion_tokens,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
      output_tokens_details: { thinking_tokens: usage.completion_tokens_details.reasoning_tokens },
    },
  })
})

t.test('every recorded chat answer: facts are the chat passthrough’s (usage read by usageFromOpenAI)', async (t) => {
  for (const name of [
    'openai-chat-text-nonstream', 'openai-chat-tool-call-nonstream', 'openai-chat-parallel-tool-calls-nonstream',
    'openai-chat-prompt-cache-hit-nonstream', 'openai-chat-reasoning-tokens-nonstream', 'openai-chat-json-schema-refusal-nonstream',
    'openai-chat-custom-tool-call-nonstream', 'openai-chat-text-stream-include-usage', 'openai-chat-tool-call-stream-include-usage',
  ]) {
    const chat = recorded(name)
    const { body, ...facts } = messagesToChat.response(chat, REQUEST)
    const { body: _same, ...expected } = chatPassthrough.response(chat, {})
    t.same(facts, expected, `${name}: facts`)
    // Anthropic's usage is the chat usage cut the other way: back through the Anthropic translator's mapping it is the same.
    const back = toOpenAIUsage(body.usage as never)
    const usage = chat.usage as { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } }
    t.equal(back.prompt_tokens, usage.prompt_tokens, `${name}: prompt tokens`)
    t.equal(back.completion_tokens, usage.completion_tokens, `${name}: output tokens`)
    t.equal(back.prompt_tokens_details?.cached_tokens, usage.prompt_tokens_details?.cached_tokens ?? 0, `${name}: cached tokens`)
  }
})

t.test('a prompt cache hit: input_tokens leaves out the cached part, which is cache_read_input_tokens', async (t) => {
  const chat = recorded('openai-chat-prompt-cache-hit-nonstream')
  const usage = chat.usage as { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } }
  t.ok(usage.prompt_tokens_details.cached_tokens > 0, 'the recording hit the cache')
  const body = messagesToChat.response(chat, REQUEST).body as { usage: Json }
  t.equal(body.usage.input_tokens, usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens)
  t.equal(body.usage.cache_read_input_tokens, usage.prompt_tokens_details.cached_tokens)
  t.same(messageUsage({ prompt_tokens: 100, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 60 }, cache_creation_input_tokens: 30 }), {
    input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 60, cache_creation_input_tokens: 30,
  }, 'cache writes (LiteLLM) are left out of input_tokens too')
})

t.test('recorded tool calls: tool_use blocks with the call ids and parsed input; stop_reason tool_use', async (t) => {
  const chat = recorded('openai-chat-parallel-tool-calls-nonstream')
  const body = messagesToChat.response(chat, REQUEST).body as { content: Json[]; stop_reason: string }
  const calls = ((chat.choices as Json[])[0] as { message: { tool_calls: { id: string; function: { name: string; arguments: string } }[] } }).message.tool_calls
  t.ok(calls.length > 1)
  t.same(body.content.filter((b) => b.type === 'tool_use'), calls.map((call) => ({
    type: 'tool_use', id: call.id, name: call.function.name, input: JSON.parse(call.function.arguments) as unknown,
  })))
  t.equal(body.stop_reason, 'tool_use')
})

t.test('reasoning first as a thinking block (no signature: a chat server signs nothing), then text, then tools', async (t) => {
  const call = { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }
  const body = messagesToChat.response(completion({ reasoning_content: 'Think.', content: 'Looking.', tool_calls: [call] }, 'tool_calls'), REQUEST).body
  t.same(body.content, [
    { type: 'thinking', thinking: 'Think.', signature: '' },
    { type: 'text', text: 'Looking.' },
    { type: 'tool_use', id: 'call_1', name: 'lookup', input: { q: 'x' } },
  ])
  const openRouter = messagesToChat.response(completion({ reasoning: 'Hmm.', content: 'Hi.' }), REQUEST).body
  t.same((openRouter.content as Json[])[0], { type: 'thinking', thinking: 'Hmm.', signature: '' }, '`reasoning` as some servers name it')
  const refusal = messagesToChat.response(recorded('openai-chat-json-schema-refusal-nonstream'), REQUEST).body
  t.same(refusal.content, [{ type: 'text', text: "I'm very sorry, but I can't assist with that request." }], 'a refusal is said as text')
})

t.test('tool arguments that are not a JSON object are {} (clients read input as an object)', async (t) => {
  const args = (text: string) => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: text } }
    const body = messagesToChat.response(completion({ content: null, tool_calls: [call] }, 'tool_calls'), REQUEST).body
    return (body.content as Json[])[0]?.input
  }
  t.same(args('{"path":"/tmp/a'), {}, 'cut off mid-call')
  t.same(args(''), {}, 'no arguments')
  t.same(args('[1,2]'), {}, 'not an object')
  t.same(args('{"ok":true}'), { ok: true })
})

t.test('stop reasons: the inverse of the Anthropic translator’s finish reasons', async (t) => {
  for (const finish of ['stop', 'length', 'tool_calls', 'content_filter'] as const) {
    const calledTools = finish === 'tool_calls'
    t.equal(finishReason(stopReason(finish, calledTools)), finish, `${finish} → ${stopReason(finish, calledTools)} → ${finish}`)
  }
  t.equal(stopReason('stop', true), 'tool_use', 'a forced tool call ends with stop on OpenAI: still tool_use, or clients would not run it')
  t.equal(stopReason('length', true), 'max_tokens', 'cut short while calling: max_tokens')
  t.equal(stopReason('tool_calls', false), 'end_turn', 'tool_calls with no call to pass on (a custom tool): end_turn')
  t.equal(stopReason(null, false), 'end_turn')
  t.equal(stopReason('something_new', false), 'end_turn')
  const custom = messagesToChat.response(recorded('openai-chat-custom-tool-call-nonstream'), REQUEST).body
  t.same([custom.content, custom.stop_reason], [[], 'end_turn'], 'a custom tool call has no tool to go to')
})

t.test('ids and model: a chat id behind msg_, a new one when there is none; the request model when the answer has none', async (t) => {
  const body = messagesToChat.response({ ...completion({ content: 'x' }), id: undefined, model: '' }, REQUEST).body
  t.match(body.id, /^msg_[0-9a-f]{48}$/)
  t.equal(body.model, REQUEST.model)
  t.equal(messagesToChat.response({ ...completion({ content: 'x' }), id: 'msg_abc' }, REQUEST).body.id, 'msg_abc')
})

t.test('an answer that is not a chat completion is an upstream error', async (t) => {
  t.throws(() => messagesToChat.response({ error: 'nope' }, REQUEST), GatewayError)
})
