// Shared by the reasoning-agent tests: scripted model turns for the upstream emulator (built as
// the provider's JSON answer, then cut into the SSE stream the real API sends, since the agent
// always streams upstream), and raw HTTP calls to POST /v1/agents/reasoning read as a client
// with fetch reads them.
import type { CustomReply, RecordedRequest } from '../support/upstream.ts'
import { sseEvents } from '../support/upstream.ts'
import { anthropicMessageToSse, openaiCompletionToSse } from '../support/fixture-variants.ts'

export type Json = Record<string, unknown>

const SSE = { 'content-type': 'text/event-stream; charset=utf-8' }

let turns = 0

export interface ScriptedToolCall {
  id: string
  name: string
  /** JSON text as the model writes it. */
  arguments: string
}

export interface ScriptedUsage {
  input: number
  output: number
}

/**
 * One OpenAI model turn as the API streams it: `content` (text), tool calls, usage. The JSON
 * completion is written in the shape of the recordings and converted with openaiCompletionToSse.
 */
export function openaiTurn(spec: {
  content?: string
  toolCalls?: ScriptedToolCall[]
  usage?: ScriptedUsage
  model?: string
}): CustomReply {
  const usage = spec.usage ?? { input: 50, output: 10 }
  const toolCalls = spec.toolCalls ?? []
  const completion: Json = {
    id: `chatcmpl-agent-${++turns}`,
    object: 'chat.completion',
    created: 1_774_963_578,
    model: spec.model ?? 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: spec.content ?? null,
          refusal: null,
          ...(toolCalls.length
            ? { tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
            : {}),
        },
        logprobs: null,
        finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
      },
    ],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: null,
  }
  return { status: 200, headers: SSE, body: openaiCompletionToSse(completion) }
}

/**
 * A hand-written OpenAI-style stream: the given chunk bodies (each gets id / object / model and
 * `choices: [{index: 0, delta, finish_reason}]` around its `delta`), a finish chunk, the usage
 * chunk and `[DONE]`. For OpenAI-compatible servers whose streams differ from OpenAI's own.
 */
export function openaiRawTurn(deltas: Json[], finish = 'tool_calls', usage: ScriptedUsage = { input: 40, output: 9 }): CustomReply {
  const id = `chatcmpl-raw-${++turns}`
  const base = { id, object: 'chat.completion.chunk', created: 1_774_963_578, model: 'compatible-model' }
  const frames = [
    ...deltas.map((delta) => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] })),
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish }] },
    { ...base, choices: [], usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output } },
  ]
  return { status: 200, headers: SSE, body: frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join('') + 'data: [DONE]\n\n' }
}

/** A calculator call as the model writes it. */
export function calc(id: string, expression: string): ScriptedToolCall {
  return { id, name: 'calculator', arguments: JSON.stringify({ expression }) }
}

export interface ScriptedThinking {
  text: string
  signature: string
}

/**
 * One Anthropic model turn (Messages API): an optional thinking block (with its signature), an
 * optional text block, tool_use blocks; converted with anthropicMessageToSse.
 */
export function anthropicTurn(spec: {
  thinking?: ScriptedThinking
  text?: string
  toolUses?: Array<{ id: string; name: string; input: Json }>
  usage?: ScriptedUsage
  model?: string
}): CustomReply {
  const usage = spec.usage ?? { input: 50, output: 10 }
  const toolUses = spec.toolUses ?? []
  const content: Json[] = []
  if (spec.thinking) content.push({ type: 'thinking', thinking: spec.thinking.text, signature: spec.thinking.signature })
  if (spec.text) content.push({ type: 'text', text: spec.text })
  for (const use of toolUses) content.push({ type: 'tool_use', id: use.id, name: use.name, input: use.input })
  const message: Json = {
    id: `msg_agent_${++turns}`,
    type: 'message',
    role: 'assistant',
    model: spec.model ?? 'claude-sonnet-4-5-20250929',
    content,
    stop_reason: toolUses.length ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: usage.input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: usage.output },
  }
  return { status: 200, headers: SSE, body: anthropicMessageToSse(message) }
}

/** An OpenAI-shaped upstream failure (a 500 with the API's error body). */
export function upstreamFailure(status = 500, message = 'The server had an error while processing your request.'): CustomReply {
  return { status, json: { error: { message, type: 'server_error', param: null, code: null } } }
}

export interface AgentAnswer {
  status: number
  headers: Headers
  json: Json
}

export async function postAgent(url: string, body: Json, headers: Record<string, string> = {}): Promise<AgentAnswer> {
  const response = await fetch(`${url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  let json: Json
  try {
    json = JSON.parse(text) as Json
  } catch {
    throw new Error(`not JSON (HTTP ${response.status}): ${text.slice(0, 500)}`)
  }
  return { status: response.status, headers: response.headers, json }
}

export interface AgentEvent {
  event: string
  data: Json
}

export interface AgentStream {
  status: number
  headers: Headers
  text: string
  events: AgentEvent[]
}

/** Named events of a complete agent stream; an event without a name or with non-JSON data fails loudly. */
export function agentEvents(text: string): AgentEvent[] {
  return sseEvents(text).map((e) => {
    if (!e.event) throw new Error(`an unnamed SSE event in an agent stream: ${e.data}`)
    return { event: e.event, data: JSON.parse(e.data) as Json }
  })
}

/** POST with `stream: true` and read the whole body as a client would, with fetch. */
export async function streamAgent(url: string, body: Json): Promise<AgentStream> {
  const response = await fetch(`${url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  })
  const text = await response.text()
  const streamed = (response.headers.get('content-type') ?? '').includes('text/event-stream')
  return { status: response.status, headers: response.headers, text, events: streamed ? agentEvents(text) : [] }
}

/** The conversation the gateway sent to OpenAI in one recorded request. */
export function openaiMessages(request: RecordedRequest | undefined): Json[] {
  const body = request?.body as { messages?: Json[] } | undefined
  return body?.messages ?? []
}

/** The `tools` offered in one recorded OpenAI request, by function name. */
export function offeredTools(request: RecordedRequest | undefined): string[] {
  const body = request?.body as { tools?: Array<{ function?: { name?: string } }> } | undefined
  return (body?.tools ?? []).map((tool) => tool.function?.name ?? '?')
}

/** The summary with what legitimately differs between two runs of the same script removed. */
export function comparable(summary: Json): Json {
  const iterations = (summary.iterations as Array<Json & { tool_calls: Json[] }>).map((it) => ({
    ...it,
    tool_calls: it.tool_calls.map(({ duration_ms: _duration, ...call }) => call),
  }))
  const { id: _id, trace_context: _trace, ...rest } = summary
  return { ...rest, iterations }
}
