// The pieces of a Response object built from a chat answer, shared by the JSON and the streamed
// translation so that the Response in `response.completed` is the one `response()` returns for
// the same content: output items, the usage, the status, and the request fields OpenAI echoes
// (the Response schema requires most of them).
import { randomBytes } from 'node:crypto'
import type { AnswerFacts } from '../../core/translator.ts'
import { usageFromOpenAI } from './chat-passthrough.ts'
import { encodeThinking, type ThinkingBlock } from './reasoning-carry.ts'
import { isObject, type ToolPlan } from './responses-tools.ts'

type Json = Record<string, unknown>

/** OpenAI-like ids: a prefix and random hex (`resp_…`, `msg_…`, `fc_…`, `rs_…`, `ctc_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`
}

export function unixNow(): number {
  return Math.floor(Date.now() / 1000)
}

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete'

export function textPart(text: string): Json {
  return { type: 'output_text', annotations: [], logprobs: [], text }
}

export function refusalPart(refusal: string): Json {
  return { type: 'refusal', refusal }
}

export function messageItem(id: string, content: Json[], status: ItemStatus): Json {
  return { id, type: 'message', status, content, role: 'assistant' }
}

/** The thinking text as the summary; the signed blocks, when there are any, as `encrypted_content`. */
export function reasoningItem(id: string, text: string, blocks: readonly ThinkingBlock[]): Json {
  const item: Json = { id, type: 'reasoning', summary: text === '' ? [] : [{ type: 'summary_text', text }] }
  if (blocks.length > 0) item.encrypted_content = encodeThinking(blocks)
  return item
}

/** A chat tool call as the Responses item for the tool it stands for. */
export interface CallShape {
  custom: boolean
  callId: string
  name: string
  namespace: string | undefined
}

export function callShape(plan: ToolPlan, chatName: string, callId: string): CallShape {
  const known = plan.byChatName.get(chatName)
  return {
    custom: known?.custom ?? false,
    callId,
    name: known?.name ?? chatName,
    namespace: known?.namespace,
  }
}

export function callItemId(shape: CallShape): string {
  return newId(shape.custom ? 'ctc' : 'fc')
}

/**
 * A custom tool's input from its chat arguments (`{"input": "…"}`); when the model did not
 * follow that shape the arguments are the input as they are, rather than nothing.
 */
export function customInput(args: string): string {
  try {
    const parsed: unknown = JSON.parse(args)
    if (isObject(parsed) && typeof parsed.input === 'string') return parsed.input
  } catch {
    // not JSON: taken as it is
  }
  return args
}

export function callItem(id: string, shape: CallShape, text: string, status: ItemStatus): Json {
  const item: Json = shape.custom
    ? { id, type: 'custom_tool_call', status, call_id: shape.callId, name: shape.name, input: status === 'in_progress' ? text : customInput(text) }
    : { id, type: 'function_call', status, arguments: text, call_id: shape.callId, name: shape.name }
  if (shape.namespace !== undefined) item.namespace = shape.namespace
  return item
}

/** Chat usage (with LiteLLM's `cache_creation_input_tokens` where the upstream wrote to a cache) → Responses usage. */
export function responsesUsage(usage: unknown): Json | undefined {
  if (!isObject(usage)) return undefined
  const num = (value: unknown) => (typeof value === 'number' ? value : 0)
  const prompt = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {}
  const completion = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {}
  const input = num(usage.prompt_tokens)
  const output = num(usage.completion_tokens)
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: num(prompt.cached_tokens), cache_write_tokens: num(usage.cache_creation_input_tokens) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: num(completion.reasoning_tokens) },
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : input + output,
  }
}

/** How the chat finish reason ends the response. */
export function statusFor(finishReason: unknown): { status: 'completed' | 'incomplete'; reason: string | undefined } {
  if (finishReason === 'length') return { status: 'incomplete', reason: 'max_output_tokens' }
  if (finishReason === 'content_filter') return { status: 'incomplete', reason: 'content_filter' }
  return { status: 'completed', reason: undefined }
}

/** The Response before any output: what `response.created` shows, and the base of the final one. */
export function responseShell(request: Json, id: string, createdAt: number, model: unknown): Json {
  const reasoning = isObject(request.reasoning) ? request.reasoning : {}
  const text = isObject(request.text) ? request.text : {}
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: request.max_tool_calls ?? null,
    model: model ?? request.model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    prompt_cache_key: request.prompt_cache_key ?? null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    safety_identifier: request.safety_identifier ?? null,
    store: request.store ?? true,
    // What the caller asked for; null where it left the upstream's default (which we do not know).
    temperature: request.temperature ?? null,
    text: { format: text.format ?? { type: 'text' }, verbosity: text.verbosity ?? 'medium' },
    tool_choice: request.tool_choice ?? 'auto',
    tools: Array.isArray(request.tools) ? request.tools.map(echoedTool) : [],
    top_logprobs: request.top_logprobs ?? 0,
    top_p: request.top_p ?? null,
    truncation: request.truncation ?? 'disabled',
    // No `usage` until there is one: OpenAI sends null here, which its own schema does not allow.
    // The schema types `user` as a string, without null: absent when the caller sent none.
    ...(typeof request.user === 'string' ? { user: request.user } : {}),
    metadata: request.metadata ?? {},
  }
}

/**
 * A tool as the Response echoes it: function tools with the `strict` and `parameters` the schema
 * requires (null: left to the upstream, which is what the chat request did with them).
 */
function echoedTool(tool: unknown): unknown {
  if (!isObject(tool) || tool.type !== 'function') return tool
  return { ...tool, parameters: tool.parameters ?? null, strict: tool.strict ?? null }
}

/** The finished Response: the shell with its output, status and usage (left out when the upstream sent none). */
export function finishedResponse(shell: Json, output: Json[], finishReason: unknown, usage: unknown): Json {
  const { status, reason } = statusFor(finishReason)
  const response: Json = {
    ...shell,
    status,
    completed_at: status === 'completed' ? unixNow() : null,
    incomplete_details: reason === undefined ? null : { reason },
    output,
  }
  const mapped = responsesUsage(usage)
  if (mapped) response.usage = mapped
  return response
}

/** Facts describe the upstream's answer: its id and model, its own finish reasons and usage. */
export function chatFacts(completion: Json, finishReasons: string[]): AnswerFacts {
  return {
    usage: usageFromOpenAI(isObject(completion.usage) ? (completion.usage as never) : undefined),
    model: typeof completion.model === 'string' ? completion.model : undefined,
    id: typeof completion.id === 'string' ? completion.id : undefined,
    finishReasons,
  }
}
