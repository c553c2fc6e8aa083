// Chat chunks → Responses stream events. Checked three ways: the Response in the closing event is
// the one response() builds from the same answer (recorded chat answers, streamed and not); the
// events have the fields of OpenAI's recorded Responses streams; and the official `openai` SDK
// accumulates them into that Response.
import t from 'tap'
import OpenAI from 'openai'
import type { Message } from '@anthropic-ai/sdk/resources/messages'
import type { StreamEvent } from '../../../src/core/translator.ts'
import { fromAnthropicMessage } from '../../../src/providers/anthropic/translate-response.ts'
import { type AnthropicStreamEvent, AnthropicStreamTranslator } from '../../../src/providers/anthropic/translate-stream.ts'
import { responsesToChat } from '../../../src/providers/openai/from-responses.ts'
import { anthropicMessageToSse, openaiCompletionToSse, openaiSseToCompletion } from '../../support/fixture-variants.ts'
import { loadFixture } from '../../support/fixtures.ts'
import { comparableResponse } from '../../support/response-compare.ts'
import { sseEvents } from '../../support/upstream.ts'

type Json = Record<string, unknown>

function streamed(request: Json, chunks: Json[], { end = true } = {}): StreamEvent[] {
  const translator = responsesToChat.stream(request)
  const out: StreamEvent[] = []
  for (const chunk of chunks) translator.push({ data: chunk }, out)
  if (end) translator.end(out)
  return out
}

function chunksOf(sse: string): Json[] {
  return sseEvents(sse).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Json)
}

function last(events: StreamEvent[]): Json {
  return (events.at(-1)?.data.response ?? {}) as Json
}

const CHAT_RECORDINGS = [
  'openai-chat-text-nonstream',
  'openai-chat-tool-call-nonstream',
  'openai-chat-parallel-tool-calls-nonstream',
  'openai-chat-json-schema-nonstream',
  'openai-chat-json-schema-refusal-nonstream',
  'openai-chat-prompt-cache-hit-nonstream',
  'openai-chat-reasoning-tokens-nonstream',
  'openai-chat-text-stream-include-usage',
  'openai-chat-tool-call-stream-include-usage',
]

t.test('every recorded chat answer: the streamed Response equals the JSON one, usage and facts too', async (t) => {
  for (const name of CHAT_RECORDINGS) {
    const recorded = loadFixture(name).response.body
    const json = name.includes('-stream') ? openaiSseToCompletion(recorded) : (JSON.parse(recorded) as Json)
    const sse = name.includes('-stream') ? recorded : openaiCompletionToSse(json)
    const request = { model: 'x', input: 'x' }
    const translator = responsesToChat.stream(request)
    const events: StreamEvent[] = []
    for (const chunk of chunksOf(sse)) translator.push({ data: chunk }, events)
    translator.end(events)
    const answer = responsesToChat.response(json, request)
    t.same(comparableResponse(last(events)), comparableResponse(answer.body), `${name}: same Response`)
    t.same(translator.facts(), { usage: answer.usage, model: answer.model, id: answer.id, finishReasons: answer.finishReasons }, `${name}: same facts`)
    t.same(events.map((e) => e.data.sequence_number), events.map((_, i) => i), `${name}: sequence numbers count from 0`)
    t.ok(events.every((e) => e.event === e.data.type), `${name}: the SSE event is named after its type`)
  }
})

/** The shape of an event: its fields, and those of the item or part it carries. */
function shape(data: Json): Json {
  const keys = (value: unknown) => Object.keys(value as Json).filter((k) => k !== 'obfuscation').sort()
  const out: Json = { type: data.type, fields: keys(data) }
  if (data.item) out.item = keys(data.item)
  if (data.part) out.part = keys(data.part)
  if (data.response) out.response = 'response'
  return out
}

t.test('a text answer: the events of the recorded Responses stream, field for field', async (t) => {
  const recorded = sseEvents(loadFixture('openai-responses-text-stream').response.body).map((e) => JSON.parse(e.data) as Json)
  const text = (recorded.at(-2)?.item as { content: Json[] }).content[0]?.text as string
  const chunk = (delta: Json, finish: string | null = null) => ({ id: 'c', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  const chunks = [chunk({ role: 'assistant', content: '' }), ...text.split(' ').map((word, i) => chunk({ content: i === 0 ? word : ` ${word}` })), chunk({}, 'stop')]
  const ours = streamed({ input: 'What is 2+2?' }, chunks).map((e) => e.data)
  const collapse = (events: Json[]) => events.map(shape).filter((s, i, all) => s.type !== all[i - 1]?.type)
  t.same(collapse(ours), collapse(recorded))
  t.same((ours.at(-2)?.item as Json).content, [{ type: 'output_text', annotations: [], logprobs: [], text }])
})

t.test('a function call: the events of the recorded Responses stream, field for field', async (t) => {
  const fixture = loadFixture('openai-responses-function-call-stream')
  // Recorded in 2025, before OpenAI added sequence_number, and `name` to arguments.done.
  const recorded: Json[] = sseEvents(fixture.response.body).map((e) => ({ ...(JSON.parse(e.data) as Json), sequence_number: 0 }))
  const argumentsDone = recorded.find((e) => e.type === 'response.function_call_arguments.done')
  if (argumentsDone) argumentsDone.name = 'get_current_weather'
  const done = recorded.at(-2)?.item as Json
  const request = JSON.parse(fixture.request.body) as Json
  const chunk = (delta: Json, finish: string | null = null) => ({ id: 'c', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  const args = String(done.arguments)
  const chunks = [
    chunk({ role: 'assistant', content: null }),
    chunk({ tool_calls: [{ index: 0, id: done.call_id, type: 'function', function: { name: done.name, arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 9) } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(9) } }] }),
    chunk({}, 'tool_calls'),
  ]
  const ours = streamed(request, chunks).map((e) => e.data)
  const collapse = (events: Json[]) => events.map(shape).filter((s, i, all) => s.type !== all[i - 1]?.type)
  t.same(collapse(ours), collapse(recorded))
  t.same({ ...(ours.at(-2)?.item as Json), id: 'fc' }, { ...done, id: 'fc' })
})

/** The events as the SSE text the gateway writes, read back by the official SDK's stream helper. */
async function sdkFinal(request: Json, events: StreamEvent[]): Promise<Json> {
  const sse = events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join('')
  const client = new OpenAI({
    apiKey: 'test',
    baseURL: 'http://gateway.invalid/v1',
    fetch: async () => new Response(sse, { headers: { 'content-type': 'text/event-stream' } }),
  })
  const stream = client.responses.stream(request as never)
  return (await stream.finalResponse()) as unknown as Json
}

t.test('the openai SDK reads the stream into the same Response (text, then tool calls)', async (t) => {
  const chat = JSON.parse(loadFixture('openai-chat-parallel-tool-calls-nonstream').response.body) as Json
  const message = (chat.choices as Json[])[0]?.message as Json
  message.content = 'Let me check both.'
  const request = { model: 'x', input: 'Weather?' }
  const events = streamed(request, chunksOf(openaiCompletionToSse(chat)))
  const final = await sdkFinal(request, events)
  t.equal(final.output_text, 'Let me check both.')
  // The SDK adds its own conveniences (output_text, parsed fields) beside what it read.
  t.has(final, last(events))
  t.same((final.output as Json[]).map((item) => item.type), ['message', 'function_call', 'function_call'])
})

t.test('recorded Claude thinking, streamed through chat: a reasoning summary, then the text', async (t) => {
  const message = JSON.parse(loadFixture('anthropic-messages-thinking-nonstream').response.body) as Message
  const anthropic = new AnthropicStreamTranslator()
  const chunks: Json[] = []
  for (const event of sseEvents(anthropicMessageToSse(message as unknown as Json))) {
    for (const chunk of anthropic.push(JSON.parse(event.data) as AnthropicStreamEvent)) chunks.push(chunk as unknown as Json)
  }
  const request = { model: 'x', input: 'Count the r in strawberry', reasoning: { effort: 'low' } }
  const events = streamed(request, chunks)
  const types = [...new Set(events.map((e) => e.data.type))]
  t.same(types.slice(2, 8), [
    'response.output_item.added',
    'response.reasoning_summary_part.added',
    'response.reasoning_summary_text.delta',
    'response.reasoning_summary_text.done',
    'response.reasoning_summary_part.done',
    'response.output_item.done',
  ])
  const json = responsesToChat.response(fromAnthropicMessage(message).body as unknown as Json, request).body
  t.same(comparableResponse(last(events)), comparableResponse(json), 'the same Response as the JSON answer, encrypted_content included')
  const final = await sdkFinal(request, events)
  t.equal(final.output_text, "The letter 'r' appears 3 times in the word \"strawberry\".")
})

t.test('a custom tool call streams its input whole once the call is complete', async (t) => {
  const request = { input: 'patch it', tools: [{ type: 'custom', name: 'apply_patch' }] }
  const chunk = (delta: Json, finish: string | null = null) => ({ id: 'c', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  const events = streamed(request, [
    chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'apply_patch', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"input":"*** Begin' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: ' Patch"}' } }] }),
    chunk({}, 'tool_calls'),
  ]).map((e) => e.data)
  t.same(events.slice(2).map((e) => e.type), [
    'response.output_item.added',
    'response.custom_tool_call_input.delta',
    'response.custom_tool_call_input.done',
    'response.output_item.done',
    'response.completed',
  ])
  t.match(events[2]?.item, { type: 'custom_tool_call', status: 'in_progress', call_id: 'call_9', name: 'apply_patch', input: '' })
  t.equal(events[3]?.delta, '*** Begin Patch')
  t.match(events[5]?.item, { type: 'custom_tool_call', status: 'completed', input: '*** Begin Patch' })
  const final = await sdkFinal(request, streamed(request, []))
  t.equal(final.status, 'incomplete', 'an upstream that sent nothing: incomplete, still a well-formed stream')
})

t.test('cut by the token limit: response.incomplete, the open item incomplete; usage from the late usage chunk', async (t) => {
  const chunk = (delta: Json, finish: string | null = null) => ({ id: 'c', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  const usage = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }
  const events = streamed({ input: 'x', max_output_tokens: 3 }, [chunk({ content: 'One two' }), chunk({}, 'length'), { id: 'c', model: 'm', choices: [], usage }])
  const end = events.at(-1)?.data as Json
  t.equal(end.type, 'response.incomplete')
  t.match(end.response, { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10 } })
  t.equal(((end.response as Json).output as Json[])[0]?.status, 'incomplete')
})

t.test('an upstream that stops without a finish chunk: open items closed, response incomplete', async (t) => {
  const translator = responsesToChat.stream({ input: 'x' })
  const out: StreamEvent[] = []
  translator.push({ data: { id: 'c', model: 'm', choices: [{ index: 0, delta: { content: 'Half' }, finish_reason: null }] } }, out)
  translator.end(out)
  translator.end(out)
  const types = out.map((e) => e.data.type)
  t.same(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.incomplete'])
  t.equal(types.filter((type) => type === 'response.incomplete').length, 1, 'end() twice closes once')
  t.match(last(out), { status: 'incomplete', incomplete_details: null, output: [{ status: 'incomplete' }] })
  t.notOk('usage' in last(out), 'no usage from the upstream: none made up')
  t.same(translator.facts().finishReasons, [])
})

t.test('tool calls from a server that leaves out their index: one item per call id', async (t) => {
  const chunk = (delta: Json, finish: string | null = null) => ({ id: 'c', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  const events = streamed({ input: 'x' }, [
    chunk({ tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"n":' } }] }),
    chunk({ tool_calls: [{ function: { arguments: '1}' } }] }),
    chunk({ tool_calls: [{ id: 'call_b', type: 'function', function: { name: 'f', arguments: '{"n":2}' } }] }),
    chunk({}, 'tool_calls'),
  ])
  t.match(last(events).output, [{ call_id: 'call_a', arguments: '{"n":1}' }, { call_id: 'call_b', arguments: '{"n":2}' }])
})
