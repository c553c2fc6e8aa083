// The pieces of an Anthropic Message built from a chat answer, shared by the JSON and the
// streamed translation (messages-stream.ts) so that the Message a client assembles from the
// stream is the one `response()` returns for the same content: the shell, the content blocks,
// the stop reason and the usage.
import { newId } from './responses-output.ts'
import { isObject } from './responses-tools.ts'

type Json = Record<string, unknown>

/**
 * Chat finish reason → Anthropic stop reason: the inverse of the Anthropic translator's
 * FINISH_REASONS (translate-response.ts), where several stop reasons share one finish reason
 * and the commonest is taken. `stop` is always `end_turn`: chat says neither whether a stop
 * sequence ended the answer nor which one (the text of the sequence is not sent), so
 * `stop_sequence` could only be guessed.
 */
const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
}

/**
 * The stop reason for a chat finish reason. Anthropic clients run tools only on `tool_use`, and
 * only the tool_use blocks there are: a turn that called tools stops with `tool_use` whatever
 * the finish reason says unless it was cut short (OpenAI answers a forced tool_choice with
 * `stop`), and `tool_calls` without a call we could pass on (a custom tool's) is `end_turn`.
 */
export function stopReason(finishReason: unknown, calledTools: boolean): string {
  const mapped = (typeof finishReason === 'string' ? STOP_REASONS[finishReason] : undefined) ?? 'end_turn'
  if (mapped === 'end_turn' || mapped === 'tool_use') return calledTools ? 'tool_use' : 'end_turn'
  return mapped
}

/** Anthropic's usage numbers, as the final message_delta and a Message carry them. */
export interface MessageUsage {
  input_tokens: number
  output_tokens: number
  cache_read_input_tokens: number
  cache_creation_input_tokens: number
  /** The reasoning part of output_tokens, when the upstream says (thinking-token-count). */
  output_tokens_details?: { thinking_tokens: number }
}

/**
 * Chat usage → Anthropic usage. Anthropic's `input_tokens` counts only the prompt tokens that
 * were neither read from nor written to the cache, where chat's `prompt_tokens` counts them all
 * (the inverse of toOpenAIUsage in translate-response.ts). Cache writes come from servers that
 * report them (LiteLLM's `cache_creation_input_tokens`); OpenAI's own cache has no writes.
 */
export function messageUsage(usage: unknown): MessageUsage {
  const num = (value: unknown) => (typeof value === 'number' && value > 0 ? value : 0)
  const u = isObject(usage) ? usage : {}
  const details = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {}
  const cacheRead = num(details.cached_tokens)
  const cacheWrite = num(u.cache_creation_input_tokens)
  const mapped: MessageUsage = {
    input_tokens: Math.max(0, num(u.prompt_tokens) - cacheRead - cacheWrite),
    output_tokens: num(u.completion_tokens),
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheWrite,
  }
  // Only when the upstream says: a 0 we made up would read as "no reasoning happened".
  const completion = isObject(u.completion_tokens_details) ? u.completion_tokens_details : {}
  if (typeof completion.reasoning_tokens === 'number') mapped.output_tokens_details = { thinking_tokens: completion.reasoning_tokens }
  return mapped
}

/**
 * The Message's id: the chat answer's own id behind Anthropic's `msg_` prefix (so the caller's
 * id leads back to the upstream's), or a new one when the upstream sent none.
 */
export function messageId(chatId: unknown): string {
  if (typeof chatId !== 'string' || chatId === '') return newId('msg')
  return chatId.startsWith('msg_') ? chatId : `msg_${chatId}`
}

/** The Message before any content: what `message_start` shows, and the base of the final one. */
export function messageShell(id: string, model: string, usage: MessageUsage): Json {
  return { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage }
}

/** The model's reasoning text: `reasoning_content` (DeepSeek, LiteLLM, vLLM) or `reasoning` (OpenRouter, newer vLLM). */
export function reasoningOf(message: Json): string {
  if (typeof message.reasoning_content === 'string') return message.reasoning_content
  return typeof message.reasoning === 'string' ? message.reasoning : ''
}

/**
 * A thinking block for reasoning text. Its `signature` is empty: a chat server signs nothing, and
 * the field is required by Anthropic's schema. The block is dropped when sent back (from-messages).
 */
export function thinkingBlock(thinking: string): Json {
  return { type: 'thinking', thinking, signature: '' }
}

export function textBlock(text: string): Json {
  return { type: 'text', text }
}

/** A tool_use block as content_block_start opens it (the input arrives in input_json_delta). */
export function toolUseStart(id: string, name: string): Json {
  return { type: 'tool_use', id, name, input: {} }
}

/**
 * A tool call's input from its chat arguments. Anthropic's input is always a JSON object, and
 * clients read it as one; arguments that are not one (a call cut off by max_tokens, a model that
 * wrote bad JSON) are `{}` rather than a string that would break them: the tool then reports the
 * missing parameters to the model, which can call again. Empty arguments (a tool without
 * parameters, as some servers send it) are `{}` too.
 */
export function toolInput(args: string): Json {
  try {
    const parsed: unknown = JSON.parse(args)
    return isObject(parsed) ? parsed : {}
  } catch {
    return {}
  }
}

/** A chat tool call's id, or a new Anthropic-like one for servers that send none. */
export function toolUseId(id: unknown): string {
  return typeof id === 'string' && id !== '' ? id : newId('toolu')
}

