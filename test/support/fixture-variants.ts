// The *other* mode of a recorded exchange, so that every recording in test/fixtures/recorded can
// be replayed both streamed and not. The Responses API's variants are in fixture-variants-responses.ts.
//
// THESE VARIANTS ARE DERIVED FROM THE RECORDINGS, NOT RECORDED. They are mechanical conversions
// (a JSON completion cut into the SSE chunks the real API would have sent for it, or an SSE
// stream accumulated into the JSON body), following the wire shapes seen in the recordings
// themselves: OpenAI's role chunk, tool_call deltas whose first piece carries id / type / name
// and empty arguments, the `include_usage` chunk with `choices: []`; Anthropic's message_start
// with `output_tokens: 1`, per-block start / delta / stop, the final message_delta holding the
// cumulative output_tokens. Token counts are copied from the recording, never recomputed, and
// what the recording lacks is not invented: an OpenAI stream recorded without usage has no
// non-streamed variant (a JSON completion always carries usage), see openaiSseToCompletion.
import type { CustomReply, FixtureReply } from './upstream.ts'
import { sseEvents } from './upstream.ts'
import { loadFixture } from './fixtures.ts'
import { responseSseToJson, responseToSse } from './fixture-variants-responses.ts'

type Json = Record<string, unknown>

// ------------------------------------------------------------------ shared helpers

/** `text` cut into at most `n` non-empty pieces, never inside a surrogate pair. */
export function pieces(text: string, n: number): string[] {
  const chars = Array.from(text)
  const count = Math.max(1, Math.min(n, chars.length))
  const size = Math.ceil(chars.length / count)
  const out: string[] = []
  for (let at = 0; at < chars.length; at += size) out.push(chars.slice(at, at + size).join(''))
  return out
}

/** 2–3 fragments for JSON arguments (1 when the text is a single character, none when empty). */
export function fragments(text: string): string[] {
  if (text === '') return []
  return pieces(text, text.length >= 6 ? 3 : 2)
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

// ------------------------------------------------------------------ OpenAI

/** OpenAI's SSE framing: one `data:` line per chunk, then `data: [DONE]`. */
function openaiFrames(chunks: Json[]): string {
  return chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n'
}

/**
 * A `chat.completion` JSON body → the SSE stream the API sends for the same answer when asked with
 * `stream_options.include_usage`: per choice a role chunk, the content in a few pieces, the
 * refusal in pieces, each tool call as a first delta (index, id, type, name, empty arguments)
 * then argument fragments, a finish chunk; then the usage chunk (`choices: []`, the recorded
 * usage) when the completion has usage, and `data: [DONE]`. Every chunk but the usage chunk has
 * `usage: null`, as the API sends when usage was requested.
 */
export function openaiCompletionToSse(completion: Json): string {
  const base: Json = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
  }
  if ('service_tier' in completion) base.service_tier = completion.service_tier
  if ('system_fingerprint' in completion) base.system_fingerprint = completion.system_fingerprint
  const chunk = (index: number, delta: Json, finish: unknown = null): Json => ({
    ...base,
    choices: [{ index, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  })

  const chunks: Json[] = []
  for (const rawChoice of asArray(completion.choices)) {
    const choice = isObject(rawChoice) ? rawChoice : {}
    const index = typeof choice.index === 'number' ? choice.index : 0
    const message = isObject(choice.message) ? choice.message : {}
    const content = typeof message.content === 'string' ? message.content : null
    const refusal = typeof message.refusal === 'string' ? message.refusal : null
    // The API opens with the role; content is "" when text follows, null otherwise.
    chunks.push(chunk(index, { role: message.role ?? 'assistant', content: content === null ? null : '', refusal: null }))
    if (content) for (const piece of pieces(content, 3)) chunks.push(chunk(index, { content: piece }))
    if (refusal !== null) for (const piece of pieces(refusal, 3)) chunks.push(chunk(index, { refusal: piece }))
    asArray(message.tool_calls).forEach((rawCall, k) => {
      const call = isObject(rawCall) ? rawCall : {}
      if (call.type === 'custom' && isObject(call.custom)) {
        const input = String(call.custom.input ?? '')
        const first = { index: k, id: call.id, type: 'custom', custom: { name: call.custom.name, input: '' } }
        chunks.push(chunk(index, { tool_calls: [first] }))
        for (const f of fragments(input)) chunks.push(chunk(index, { tool_calls: [{ index: k, custom: { input: f } }] }))
      } else {
        const fn = isObject(call.function) ? call.function : {}
        const args = String(fn.arguments ?? '')
        const first = { index: k, id: call.id, type: call.type ?? 'function', function: { name: fn.name, arguments: '' } }
        chunks.push(chunk(index, { tool_calls: [first] }))
        for (const f of fragments(args)) chunks.push(chunk(index, { tool_calls: [{ index: k, function: { arguments: f } }] }))
      }
    })
    chunks.push(chunk(index, {}, choice.finish_reason ?? 'stop'))
  }
  if (isObject(completion.usage)) chunks.push({ ...base, choices: [], usage: completion.usage })
  return openaiFrames(chunks)
}

interface ToolCallAcc {
  id?: unknown
  type?: unknown
  name: string
  text: string
}

interface ChoiceAcc {
  role: unknown
  content: string | null
  refusal: string | null
  tools: Map<number, ToolCallAcc>
  finish: unknown
}

/**
 * An OpenAI SSE stream → the `chat.completion` JSON body of the same answer: content, refusal and
 * tool calls accumulated per choice, the finish reason, and the usage of the usage chunk.
 * Throws when the stream carries no usage (recorded without `stream_options.include_usage`):
 * the API always puts usage on a JSON completion, and inventing one is what these tests forbid.
 */
export function openaiSseToCompletion(sse: string): Json {
  const events = sseEvents(sse).filter((e) => e.data !== '[DONE]')
  if (events.length === 0) throw new Error('not an OpenAI stream: no data events')
  let head: Json | undefined
  let usage: unknown
  const choices = new Map<number, ChoiceAcc>()
  for (const event of events) {
    const chunk = JSON.parse(event.data) as Json
    head ??= chunk
    if (isObject(chunk.usage)) usage = chunk.usage
    for (const rawChoice of asArray(chunk.choices)) {
      const choice = isObject(rawChoice) ? rawChoice : {}
      const index = typeof choice.index === 'number' ? choice.index : 0
      let acc = choices.get(index)
      if (!acc) {
        acc = { role: 'assistant', content: null, refusal: null, tools: new Map(), finish: null }
        choices.set(index, acc)
      }
      const delta = isObject(choice.delta) ? choice.delta : {}
      if (typeof delta.role === 'string') acc.role = delta.role
      if (typeof delta.content === 'string') acc.content = (acc.content ?? '') + delta.content
      if (typeof delta.refusal === 'string') acc.refusal = (acc.refusal ?? '') + delta.refusal
      for (const rawCall of asArray(delta.tool_calls)) {
        const call = isObject(rawCall) ? rawCall : {}
        const k = typeof call.index === 'number' ? call.index : 0
        let tool = acc.tools.get(k)
        if (!tool) {
          tool = { name: '', text: '' }
          acc.tools.set(k, tool)
        }
        if (call.id !== undefined) tool.id = call.id
        if (call.type !== undefined) tool.type = call.type
        const part = isObject(call.function) ? call.function : isObject(call.custom) ? call.custom : {}
        if (typeof part.name === 'string') tool.name += part.name
        if (typeof part.arguments === 'string') tool.text += part.arguments
        if (typeof part.input === 'string') tool.text += part.input
      }
      if (choice.finish_reason != null) acc.finish = choice.finish_reason
    }
  }
  if (!isObject(usage)) {
    throw new Error('this stream was recorded without usage (no stream_options.include_usage): its non-streamed variant cannot be derived')
  }
  const first = head ?? {}
  const completion: Json = {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices: [...choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, acc]) => {
        const message: Json = { role: acc.role, content: acc.content, refusal: acc.refusal }
        if (acc.tools.size > 0) {
          message.tool_calls = [...acc.tools.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, tool]) =>
              tool.type === 'custom'
                ? { id: tool.id, type: 'custom', custom: { name: tool.name, input: tool.text } }
                : { id: tool.id, type: tool.type ?? 'function', function: { name: tool.name, arguments: tool.text } },
            )
        }
        return { index, message, logprobs: null, finish_reason: acc.finish ?? 'stop' }
      }),
    usage,
  }
  if ('service_tier' in first) completion.service_tier = first.service_tier
  if ('system_fingerprint' in first) completion.system_fingerprint = first.system_fingerprint
  return completion
}

// ------------------------------------------------------------------ Anthropic

function anthropicFrames(events: Json[]): string {
  return events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join('')
}

/**
 * An Anthropic Message JSON body → the Messages SSE stream of the same answer, as the API sends
 * it: message_start with the message shell and the input-side usage (input, cache read/write,
 * `cache_creation` when present, `output_tokens: 1`), then per content block
 * content_block_start / deltas / content_block_stop (text_delta pieces; input_json_delta: an
 * empty one then the tool input JSON in 2–3 fragments; thinking_delta pieces then
 * signature_delta), one ping after the first block start, then message_delta
 * {stop_reason, stop_sequence, usage: {output_tokens}} and message_stop.
 *
 * `messageDeltaUsage` picks what message_delta's usage holds besides the cumulative output_tokens:
 * nothing (`output`, the default, as in the recordings), the input and cache counts again
 * (`cumulative`, as newer API versions send them), or those fields as null (`null-input`). All
 * three describe the same usage; a gateway that adds them up, or reads a null as 0, does not.
 */
export function anthropicMessageToSse(
  message: Json,
  options: { messageDeltaUsage?: 'output' | 'cumulative' | 'null-input' } = {},
): string {
  const usage = isObject(message.usage) ? message.usage : {}
  const startUsage: Json = { ...usage, output_tokens: 1 }
  const shell: Json = {
    id: message.id,
    type: 'message',
    role: message.role ?? 'assistant',
    model: message.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: startUsage,
  }
  const events: Json[] = [{ type: 'message_start', message: shell }]
  asArray(message.content).forEach((rawBlock, index) => {
    const block = isObject(rawBlock) ? rawBlock : {}
    const delta = (d: Json) => events.push({ type: 'content_block_delta', index, delta: d })
    switch (block.type) {
      case 'text':
        events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } })
        for (const piece of pieces(String(block.text ?? ''), 3)) delta({ type: 'text_delta', text: piece })
        break
      case 'tool_use':
        events.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } })
        delta({ type: 'input_json_delta', partial_json: '' })
        for (const f of fragments(JSON.stringify(block.input ?? {}))) delta({ type: 'input_json_delta', partial_json: f })
        break
      case 'thinking':
        events.push({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } })
        for (const piece of pieces(String(block.thinking ?? ''), 3)) delta({ type: 'thinking_delta', thinking: piece })
        delta({ type: 'signature_delta', signature: block.signature })
        break
      default:
        // redacted_thinking and server-tool blocks arrive whole in their start event.
        events.push({ type: 'content_block_start', index, content_block: block })
    }
    events.push({ type: 'content_block_stop', index })
  })
  // The API sends one ping, right after the first content_block_start.
  const firstStart = events.findIndex((e) => e.type === 'content_block_start')
  events.splice(firstStart === -1 ? 1 : firstStart + 1, 0, { type: 'ping' })
  events.push({
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason ?? null, stop_sequence: message.stop_sequence ?? null },
    usage: messageDeltaUsage(usage, options.messageDeltaUsage ?? 'output'),
  })
  events.push({ type: 'message_stop' })
  return anthropicFrames(events)
}

const INPUT_SIDE = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const

function messageDeltaUsage(usage: Json, mode: 'output' | 'cumulative' | 'null-input'): Json {
  const late: Json = {}
  if (mode !== 'output') {
    for (const field of INPUT_SIDE) late[field] = mode === 'cumulative' ? (usage[field] ?? 0) : null
  }
  late.output_tokens = usage.output_tokens
  return late
}

interface BlockAcc {
  block: Json
  json: string
}

/**
 * An Anthropic Messages SSE stream → the Message JSON body of the same answer: the message_start
 * shell, content blocks accumulated (text, tool input JSON parsed, thinking with its signature),
 * stop_reason / stop_sequence from the last message_delta, and usage = message_start's with
 * every later non-null field (message_delta's cumulative output_tokens, and any input / cache
 * count it repeats) overriding it.
 */
export function anthropicSseToMessage(sse: string): Json {
  let message: Json | undefined
  let usage: Json = {}
  const blocks = new Map<number, BlockAcc>()
  for (const { data } of sseEvents(sse)) {
    const event = JSON.parse(data) as Json
    const index = typeof event.index === 'number' ? event.index : -1
    switch (event.type) {
      case 'message_start': {
        const start = isObject(event.message) ? event.message : {}
        message = { ...start, content: [] }
        usage = isObject(start.usage) ? { ...start.usage } : {}
        break
      }
      case 'content_block_start': {
        const block = isObject(event.content_block) ? { ...event.content_block } : {}
        blocks.set(index, { block, json: '' })
        break
      }
      case 'content_block_delta': {
        const acc = blocks.get(index)
        const delta = isObject(event.delta) ? event.delta : {}
        if (!acc) throw new Error(`content_block_delta for block ${index} before its start`)
        if (delta.type === 'text_delta') acc.block.text = String(acc.block.text ?? '') + String(delta.text)
        else if (delta.type === 'input_json_delta') acc.json += String(delta.partial_json)
        else if (delta.type === 'thinking_delta') acc.block.thinking = String(acc.block.thinking ?? '') + String(delta.thinking)
        else if (delta.type === 'signature_delta') acc.block.signature = delta.signature
        break
      }
      case 'message_delta': {
        if (!message) throw new Error('message_delta before message_start')
        const delta = isObject(event.delta) ? event.delta : {}
        if ('stop_reason' in delta) message.stop_reason = delta.stop_reason
        if ('stop_sequence' in delta) message.stop_sequence = delta.stop_sequence
        if (isObject(event.usage)) {
          for (const [field, value] of Object.entries(event.usage)) if (value != null) usage[field] = value
        }
        break
      }
      case 'error':
        throw new Error(`the stream ends in an error event: ${data}`)
    }
  }
  if (!message) throw new Error('not an Anthropic stream: no message_start')
  message.content = [...blocks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, { block, json }]) => (block.type === 'tool_use' ? { ...block, input: json === '' ? {} : (JSON.parse(json) as unknown) } : block))
  message.usage = usage
  return message
}

// ------------------------------------------------------------------ replies for the emulator

function isSse(contentType: string | undefined): boolean {
  return (contentType ?? '').includes('text/event-stream')
}

function recordedContentType(name: string): string | undefined {
  const headers = loadFixture(name).response.headers
  const key = Object.keys(headers).find((h) => h.toLowerCase() === 'content-type')
  return key === undefined ? undefined : headers[key]?.[0]
}

/** Whether the recording's own reply is an SSE stream. */
export function recordedAsStream(name: string): boolean {
  return isSse(recordedContentType(name))
}

/** The JSON reply for a 200 recording: the recording itself, or the variant derived from its stream. */
export function jsonReply(name: string): FixtureReply | CustomReply {
  if (!recordedAsStream(name)) return { fixture: name }
  const fixture = loadFixture(name)
  const sse = fixture.response.body
  const body =
    fixture.meta.api === 'anthropic.messages' ? anthropicSseToMessage(sse)
    : fixture.meta.api === 'openai.responses' ? responseSseToJson(sse)
    : openaiSseToCompletion(sse)
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

/** The SSE reply for a 200 recording: the recording itself, or the variant derived from its JSON. */
export function sseReply(name: string): FixtureReply | CustomReply {
  if (recordedAsStream(name)) return { fixture: name }
  const fixture = loadFixture(name)
  const json = JSON.parse(fixture.response.body) as Json
  const body =
    fixture.meta.api === 'anthropic.messages' ? anthropicMessageToSse(json)
    : fixture.meta.api === 'openai.responses' ? responseToSse(json)
    : openaiCompletionToSse(json)
  return { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, body }
}
