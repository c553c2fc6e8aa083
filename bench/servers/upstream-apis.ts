// The answers of the bench upstream in each API it speaks, precomputed: OpenAI's Chat Completions
// (/v1/chat/completions), OpenAI's Responses API (/v1/responses) and Anthropic's Messages API
// (/v1/messages). Every API says the same thing with the same usage (19 tokens in, one token per
// content chunk out), so what differs between the scenarios is the gateway's work, not the
// upstream's. The shapes are those of the recorded exchanges in test/fixtures/recorded/
// (openai-chat-text-*, openai-responses-text-*, anthropic-messages-text-* and
// anthropic-messages-tool-use-stream for the current usage fields), with our text and ids.

/** Content chunks per stream. */
export const CHUNKS = Number(process.env.BENCH_STREAM_CHUNKS ?? 40)
export const INPUT_TOKENS = 19
const CREATED = 1_763_000_000
const WORDS = 'OpenTelemetry gives every model call a trace you can follow from the caller to the upstream and back again'.split(' ')
const text = (i: number) => `${i === 0 ? '' : ' '}${WORDS[i % WORDS.length]}`
const TEXT = Array.from({ length: CHUNKS }, (_, i) => text(i)).join('')

export interface Api {
  json: Buffer
  jsonHeaders: Record<string, string>
  /** The events of one stream; `withUsage` when the caller asked for usage (Chat Completions' `stream_options.include_usage`). */
  stream(withUsage: boolean): Buffer[]
}

const jsonHeaders = (json: Buffer) => ({ 'content-type': 'application/json', 'content-length': String(json.length) })

// Chat Completions: a role chunk, the content chunks, the finish chunk, the usage chunk when asked, [DONE].
const CHAT_ID = 'chatcmpl-BENCHabcdefghijklmnopqrstuvwx'
const CHAT_MODEL = 'gpt-4o-mini-2024-07-18'
const CHAT_USAGE = {
  prompt_tokens: INPUT_TOKENS,
  completion_tokens: CHUNKS,
  total_tokens: INPUT_TOKENS + CHUNKS,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
}
const chatHead = { id: CHAT_ID, created: CREATED, model: CHAT_MODEL }

function chatChunk(delta: Record<string, unknown>, finish: string | null, withUsageField: boolean): Buffer {
  const body: Record<string, unknown> = {
    ...chatHead,
    object: 'chat.completion.chunk',
    service_tier: 'default',
    system_fingerprint: 'fp_bench0001',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  }
  if (withUsageField) body.usage = null
  return Buffer.from(`data: ${JSON.stringify(body)}\n\n`)
}

function chatStream(withUsage: boolean): Buffer[] {
  const events = [chatChunk({ role: 'assistant', content: '', refusal: null }, null, withUsage)]
  for (let i = 0; i < CHUNKS; i++) events.push(chatChunk({ content: text(i) }, null, withUsage))
  events.push(chatChunk({}, 'stop', withUsage))
  if (withUsage) {
    const usage = { ...chatHead, object: 'chat.completion.chunk', service_tier: 'default', system_fingerprint: 'fp_bench0001', choices: [], usage: CHAT_USAGE }
    events.push(Buffer.from(`data: ${JSON.stringify(usage)}\n\n`))
  }
  events.push(Buffer.from('data: [DONE]\n\n'))
  return events
}

const chatStreams = { plain: chatStream(false), withUsage: chatStream(true) }
const chatJson = Buffer.from(
    JSON.stringify({
      ...chatHead,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: TEXT, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
      usage: CHAT_USAGE,
      service_tier: 'default',
      system_fingerprint: 'fp_bench0001',
    }),
)
export const chat: Api = { json: chatJson, jsonHeaders: jsonHeaders(chatJson), stream: (withUsage) => (withUsage ? chatStreams.withUsage : chatStreams.plain) }

// Responses API: response.created, response.in_progress, the message item and its text part
// opened, one output_text.delta per chunk, then the text, part and item done and
// response.completed (which carries the usage); no [DONE].
const RESP_ID = 'resp_0bench5b7debffd10069cbcbd8749c819bb7f7bcf278d05379'
const MSG_ID = 'msg_0bench5b7debffd10069cbcbd919cc819b8e8d9be8f8bc3922'
const RESP_USAGE = {
  input_tokens: INPUT_TOKENS,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: CHUNKS,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: INPUT_TOKENS + CHUNKS,
}
const outputText = (value: string) => ({ type: 'output_text', annotations: [], logprobs: [], text: value })
const message = (status: string, content: unknown[]) => ({ id: MSG_ID, type: 'message', status, content, role: 'assistant' })

function response(status: 'in_progress' | 'completed'): Record<string, unknown> {
  const done = status === 'completed'
  return {
    id: RESP_ID,
    object: 'response',
    created_at: CREATED,
    status,
    background: false,
    completed_at: done ? CREATED + 1 : null,
    error: null,
    frequency_penalty: 0,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    max_tool_calls: null,
    model: CHAT_MODEL,
    output: done ? [message('completed', [outputText(TEXT)])] : [],
    parallel_tool_calls: true,
    presence_penalty: 0,
    previous_response_id: null,
    prompt_cache_key: null,
    prompt_cache_retention: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: 'default',
    store: false,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_logprobs: 0,
    top_p: 1,
    truncation: 'disabled',
    usage: done ? RESP_USAGE : null,
    user: null,
    metadata: {},
  }
}

/** One named SSE event (`event:` then `data:`), as OpenAI's Responses API and Anthropic write them. */
const named = (type: string, data: Record<string, unknown>) => Buffer.from(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)

function responsesStream(): Buffer[] {
  let seq = 0
  const event = (type: string, data: Record<string, unknown>) => named(type, { ...data, sequence_number: seq++ })
  const at = { item_id: MSG_ID, output_index: 0, content_index: 0 }
  const events = [
    event('response.created', { response: response('in_progress') }),
    event('response.in_progress', { response: response('in_progress') }),
    event('response.output_item.added', { item: message('in_progress', []), output_index: 0 }),
    event('response.content_part.added', { ...at, part: outputText('') }),
  ]
  for (let i = 0; i < CHUNKS; i++) events.push(event('response.output_text.delta', { ...at, delta: text(i), logprobs: [], obfuscation: 'wzXPJv6cD8' }))
  events.push(
    event('response.output_text.done', { ...at, logprobs: [], text: TEXT }),
    event('response.content_part.done', { ...at, part: outputText(TEXT) }),
    event('response.output_item.done', { item: message('completed', [outputText(TEXT)]), output_index: 0 }),
    event('response.completed', { response: response('completed') }),
  )
  return events
}

const responsesEvents = responsesStream()
const responsesJson = Buffer.from(JSON.stringify(response('completed')))
export const responses: Api = { json: responsesJson, jsonHeaders: jsonHeaders(responsesJson), stream: () => responsesEvents }

// Messages API: message_start (input usage), the text block opened, a ping, one text_delta per
// chunk, the block closed, message_delta (stop reason and output usage), message_stop.
const ANTHROPIC_ID = 'msg_01BENCHnJ4BqCbQR4BUANnCB'
const ANTHROPIC_MODEL = 'claude-3-5-haiku-20241022'
const anthropicUsage = (output: number) => ({ input_tokens: INPUT_TOKENS, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: output, service_tier: 'standard' })
const anthropicMessage = (content: unknown[], stop: string | null, output: number) => ({
  id: ANTHROPIC_ID,
  type: 'message',
  role: 'assistant',
  model: ANTHROPIC_MODEL,
  content,
  stop_reason: stop,
  stop_sequence: null,
  usage: anthropicUsage(output),
})

function messagesStream(): Buffer[] {
  const events = [
    named('message_start', { message: anthropicMessage([], null, 1) }),
    named('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    named('ping', {}),
  ]
  for (let i = 0; i < CHUNKS; i++) events.push(named('content_block_delta', { index: 0, delta: { type: 'text_delta', text: text(i) } }))
  events.push(
    named('content_block_stop', { index: 0 }),
    named('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: CHUNKS } }),
    named('message_stop', {}),
  )
  return events
}

const messagesEvents = messagesStream()
const messagesJson = Buffer.from(JSON.stringify(anthropicMessage([{ type: 'text', text: TEXT }], 'end_turn', CHUNKS)))
export const messages: Api = { json: messagesJson, jsonHeaders: jsonHeaders(messagesJson), stream: () => messagesEvents }

/** The API a request path speaks (query string ignored: Claude Code posts to /v1/messages?beta=true). */
export function apiOf(url: string): Api {
  const path = url.split('?')[0]
  return path === '/v1/responses' ? responses : path === '/v1/messages' ? messages : chat
}
