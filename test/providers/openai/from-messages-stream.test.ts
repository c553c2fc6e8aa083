// Chat chunks → Anthropic Messages stream events. Checked three ways: the Anthropic SDK's own
// accumulator (MessageStream, driven offline over our events) assembles from them the Message
// response() builds from the same answer, usage included (recorded chat answers, streamed and
// not); the events come in Anthropic's order; and the usage is where clients read it, the full
// cumulative counts in the final message_delta.
import t from 'tap'
import { MessageStream } from '@anthropic-ai/sdk/lib/MessageStream'
import type { StreamEvent } from '../../../src/core/translator.ts'
import { messagesToChat } from '../../../src/providers/openai/from-messages.ts'
import { openaiCompletionToSse, openaiSseToCompletion } from '../../support/fixture-variants.ts'
import { loadFixture } from '../../support/fixtures.ts'
import { sseEvents } from '../../support/upstream.ts'

type Json = Record<string, unknown>

const REQUEST = { model: 'gpt-4o-mini', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] }

function streamed(chunks: Json[], { end = true } = {}) {
  const translator = messagesToChat.stream(REQUEST)
  const events: StreamEvent[] = []
  for (const chunk of chunks) translator.push({ data: chunk }, events)
  if (end) translator.end(events)
  return { events, translator }
}

function chunksOf(sse: string): Json[] {
  return sseEvents(sse).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Json)
}

/** The Message the Anthropic SDK assembles from the events (its `MessageStream`, as `messages.stream()` uses). */
async function assembled(events: StreamEvent[]): Promise<Json> {
  const lines = events.map((e) => `${JSON.stringify(e.data)}\n`).join('')
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(lines))
      controller.close()
    },
  })
  const message = await MessageStream.fromReadableStream(readable).finalMessage()
  // `parsed_output` is the SDK's own (its structured-output helper), not a field of the wire.
  const { parsed_output: _sdk, ...wire } = JSON.parse(JSON.stringify(message)) as Json
  return wire
}

/** Anthropic's stream grammar: message_start, blocks one at a time with increasing index, message_delta, message_stop. */
function inAnthropicOrder(events: StreamEvent[]): string | undefined {
  const types = events.map((e) => e.data.type)
  if (types[0] !== 'message_start') return 'message_start first'
  if (types.at(-2) !== 'message_delta' || types.at(-1) !== 'message_stop') return 'message_delta then message_stop last'
  if (types.filter((type) => type === 'message_start' || type === 'message_delta' || type === 'message_stop').length !== 3) return 'once each'
  let open: number | undefined
  let next = 0
  for (const { data } of events.slice(1, -2)) {
    if (data.type === 'content_block_start') {
      if (open !== undefined || data.index !== next) return `block ${String(data.index)} starts while ${String(open)} is open`
      open = next++
    } else if (data.type === 'content_block_delta' || data.type === 'content_block_stop') {
      if (data.index !== open) return `${String(data.type)} for ${String(data.index)} while ${String(open)} is open`
      if (data.type === 'content_block_stop') open = undefined
    } else return `unexpected ${String(data.type)}`
  }
  return open === undefined ? undefined : `block ${open} never stopped`
}

const CHAT_RECORDINGS = [
  'openai-chat-text-nonstream',
  'openai-chat-tool-call-nonstream',
  'openai-chat-parallel-tool-calls-nonstream',
  'openai-chat-json-schema-nonstream',
  'openai-chat-json-schema-refusal-nonstream',
  'openai-chat-prompt-cache-hit-nonstream',
  'openai-chat-reasoning-tokens-nonstream',
  'openai-chat-custom-tool-call-nonstream',
  'openai-chat-text-stream-include-usage',
  'openai-chat-tool-call-stream-include-usage',
]

t.test('every recorded chat answer: the SDK assembles from our stream the Message response() returns, usage included', async (t) => {
  for (const name of CHAT_RECORDINGS) {
    const recorded = loadFixture(name).response.body
    const json = name.includes('-stream') ? openaiSseToCompletion(recorded) : (JSON.parse(recorded) as Json)
    const sse = name.includes('-stream') ? recorded : openaiCompletionToSse(json)
    const { events, translator } = streamed(chunksOf(sse))
    const answer = messagesToChat.response(json, REQUEST)
    t.equal(inAnthropicOrder(events), undefined, `${name}: Anthropic's order`)
    t.same(await assembled(events), answer.body, `${name}: the same Message`)
    t.same(translator.facts(), { usage: answer.usage, model: answer.model, id: answer.id, finishReasons: answer.finishReasons }, `${name}: same facts`)
    t.ok(events.every((e) => e.event === e.data.type), `${name}: the SSE event is named after its type`)
  }
})

t.test('usage: message_start knows nothing yet; the final message_delta carries the full cumulative counts', async (t) => {
  const json = JSON.parse(loadFixture('openai-chat-prompt-cache-hit-nonstream').response.body) as Json
  const usage = json.usage as { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } }
  const { events } = streamed(chunksOf(openaiCompletionToSse(json)))
  const start = events[0]?.data.message as Json
  t.same(start.usage, { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 })
  t.same(start.content, [])
  const delta = events.at(-2)?.data as Json
  t.match(delta.usage, {
    input_tokens: usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens,
    output_tokens: usage.completion_tokens,
    cache_read_input_tokens: usage.prompt_tokens_details.cached_tokens,
    cache_creation_input_tokens: 0,
  })
  t.same(delta.delta, { stop_reason: 'end_turn', stop_sequence: null })
})

const chunk = (delta: Json, finish: string | null = null): Json => ({ id: 'chatcmpl-9', model: 'm-1', choices: [{ index: 0, delta, finish_reason: finish }], usage: null })
const usageChunk = (prompt: number, completion: number): Json => ({ id: 'chatcmpl-9', model: 'm-1', choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } })

t.test('message_delta waits for the usage chunk after the finish chunk', async (t) => {
  const translator = messagesToChat.stream(REQUEST)
  const out: StreamEvent[] = []
  for (const c of [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hi' }), chunk({}, 'stop')]) translator.push({ data: c }, out)
  t.notOk(out.some((e) => e.data.type === 'message_delta'), 'not on the finish chunk: the usage is still to come')
  translator.push({ data: usageChunk(12, 3) }, out)
  t.same(out.slice(-2).map((e) => e.data), [
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 } },
    { type: 'message_stop' },
  ])
  const before = out.length
  translator.end(out)
  t.equal(out.length, before, 'end() adds nothing once the message stopped')
  const onFinish = streamed([chunk({ content: 'Hi' }), { ...chunk({}, 'stop'), usage: { prompt_tokens: 5, completion_tokens: 1 } }], { end: false })
  t.equal(onFinish.events.at(-1)?.data.type, 'message_stop', 'usage on the finish chunk itself: closed there')
})

t.test('a stream without usage: message_delta at the end, counts null (not known), no usage in the facts', async (t) => {
  const { events, translator } = streamed(chunksOf(loadFixture('openai-chat-text-stream-no-usage').response.body))
  t.equal(inAnthropicOrder(events), undefined)
  t.same((events.at(-2)?.data as Json).usage, { input_tokens: null, output_tokens: 0, cache_read_input_tokens: null, cache_creation_input_tokens: null })
  t.equal(translator.facts().usage, undefined)
  const message = await assembled(events)
  t.equal(message.stop_reason, 'end_turn')
})

t.test('reasoning, text and tool calls: one block each, in order, kinds never interleaved', async (t) => {
  const call = (index: number, id: string | undefined, name: string | undefined, args: string) =>
    chunk({ tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: { ...(name ? { name } : {}), arguments: args } }] })
  const { events } = streamed([
    chunk({ role: 'assistant', reasoning_content: 'Let me ' }),
    chunk({ reasoning_content: 'think.' }),
    chunk({ content: 'Two ' }),
    chunk({ content: 'calls.' }),
    call(0, 'call_a', 'weather', ''),
    call(0, undefined, undefined, '{"city":'),
    call(0, undefined, undefined, '"Paris"}'),
    call(1, 'call_b', 'time', '{}'),
    chunk({}, 'tool_calls'),
    usageChunk(20, 9),
  ])
  t.equal(inAnthropicOrder(events), undefined)
  t.same(events.filter((e) => e.data.type === 'content_block_start').map((e) => e.data.content_block), [
    { type: 'thinking', thinking: '', signature: '' },
    { type: 'text', text: '' },
    { type: 'tool_use', id: 'call_a', name: 'weather', input: {} },
    { type: 'tool_use', id: 'call_b', name: 'time', input: {} },
  ])
  t.same(events.filter((e) => e.data.type === 'content_block_delta').map((e) => e.data.delta), [
    { type: 'thinking_delta', thinking: 'Let me ' },
    { type: 'thinking_delta', thinking: 'think.' },
    { type: 'text_delta', text: 'Two ' },
    { type: 'text_delta', text: 'calls.' },
    { type: 'input_json_delta', partial_json: '{"city":' },
    { type: 'input_json_delta', partial_json: '"Paris"}' },
    { type: 'input_json_delta', partial_json: '{}' },
  ])
  const message = await assembled(events)
  t.same(message.content, [
    { type: 'thinking', thinking: 'Let me think.', signature: '' },
    { type: 'text', text: 'Two calls.' },
    { type: 'tool_use', id: 'call_a', name: 'weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'call_b', name: 'time', input: {} },
  ])
  t.equal(message.stop_reason, 'tool_use')
  t.same(message.usage, { input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 })
})

t.test('tool calls without an index (sent whole): one block per call id', async (t) => {
  const whole = (id: string, args: string) => chunk({ tool_calls: [{ id, type: 'function', function: { name: 'f', arguments: args } }] })
  const { events } = streamed([whole('call_1', '{"a":1}'), whole('call_2', '{"b":2}'), chunk({}, 'tool_calls'), usageChunk(1, 1)])
  const message = await assembled(events)
  t.same(message.content, [
    { type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } },
    { type: 'tool_use', id: 'call_2', name: 'f', input: { b: 2 } },
  ])
})

t.test('a stream cut off before its finish chunk: what came is closed, stop_reason null (the upstream did not say)', async (t) => {
  const { events, translator } = streamed([chunk({ role: 'assistant', content: 'Half an ans' })])
  t.equal(inAnthropicOrder(events), undefined)
  t.same((events.at(-2)?.data as Json).delta, { stop_reason: null, stop_sequence: null })
  t.same(translator.facts().finishReasons, [])
  const empty = streamed([])
  t.same(empty.events.map((e) => e.data.type), ['message_start', 'message_delta', 'message_stop'], 'nothing at all: still a well-formed stream')
  t.equal((empty.events[0]?.data.message as Json).model, REQUEST.model)
})

t.test('message_start carries the upstream model and the chat id behind msg_', async (t) => {
  const { events } = streamed([{ id: 'x', model: '', choices: [], prompt_filter_results: [] }, { ...chunk({ content: 'a' }), id: 'x' }, chunk({}, 'stop'), usageChunk(1, 1)])
  const start = events[0]?.data.message as Json
  t.equal(start.id, 'msg_x')
  t.equal(start.model, 'm-1', "Azure's first chunk (empty model, no choices) does not start the message")
})
