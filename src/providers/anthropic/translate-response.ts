// Anthropic Message → OpenAI chat.completion, plus the usage and stop-reason mappings the
// stream translator shares, so that streamed and non-streamed answers cannot drift apart.
import type { Message, StopReason } from '@anthropic-ai/sdk/resources/messages'
import type { ChatCompletion, ChatCompletionMessageFunctionToolCall } from 'openai/resources/chat/completions'
import type { Usage } from '../../core/types.ts'
import type { RoundTripThinkingBlock } from './translate-messages.ts'

export type FinishReason = ChatCompletion.Choice['finish_reason']

/** A translated answer: the OpenAI-shaped body and its usage as plain values. */
export interface Completion {
  body: ChatCompletion
  usage: Usage | undefined
}

// model_context_window_exceeded is OpenAI's `length` (the answer was cut off); pause_turn (a
// server-tool loop paused) and anything new are a plain stop, which callers always handle.
const FINISH_REASONS = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
  pause_turn: 'stop',
} as const satisfies Record<StopReason, FinishReason>

/** A tool_use stop that only produced the JSON answer is, to the caller, a normal stop. */
export function finishReason(
  stopReason: string | null | undefined,
  answeredWithJsonTool = false,
  calledTools = false,
): FinishReason {
  if (stopReason === 'tool_use' && answeredWithJsonTool && !calledTools) return 'stop'
  if (stopReason == null || !Object.hasOwn(FINISH_REASONS, stopReason)) return 'stop'
  return FINISH_REASONS[stopReason as StopReason]
}

/**
 * The usage numbers Anthropic reports, on a Message or accumulated over a stream (where the
 * translator has already settled which value stands). Cache fields are absent on older
 * recordings; absent or null here means zero.
 */
export interface AnthropicUsageNumbers {
  input_tokens: number
  output_tokens: number
  cache_read_input_tokens?: number | null
  cache_creation_input_tokens?: number | null
  cache_creation?: { ephemeral_1h_input_tokens?: number | null } | null
  output_tokens_details?: { thinking_tokens?: number | null } | null
}

/** OpenAI's usage object, with LiteLLM's top-level Anthropic cache counts. */
export type OpenAIUsage = NonNullable<ChatCompletion['usage']> & {
  cache_creation_input_tokens: number
  cache_read_input_tokens: number
}

/**
 * Anthropic's `input_tokens` excludes cached tokens; OpenAI's `prompt_tokens` counts every prompt
 * token. Reporting `input_tokens` alone would hide (and mis-price) the cached part.
 */
export function toOpenAIUsage(usage: AnthropicUsageNumbers): OpenAIUsage {
  const cacheRead = usage.cache_read_input_tokens ?? 0
  const cacheWrite = usage.cache_creation_input_tokens ?? 0
  const promptTokens = usage.input_tokens + cacheRead + cacheWrite
  const reasoning = usage.output_tokens_details?.thinking_tokens
  return {
    prompt_tokens: promptTokens,
    completion_tokens: usage.output_tokens,
    total_tokens: promptTokens + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: cacheRead },
    // Only when Anthropic says: a 0 we made up would read as "no reasoning happened".
    ...(reasoning != null ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {}),
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  }
}

export function toGatewayUsage(usage: AnthropicUsageNumbers): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0
  const cacheWrite = usage.cache_creation_input_tokens ?? 0
  return {
    input: usage.input_tokens + cacheRead + cacheWrite,
    output: usage.output_tokens,
    cacheRead,
    cacheWrite,
    cacheWrite1h: usage.cache_creation?.ephemeral_1h_input_tokens ?? 0,
    reasoning: usage.output_tokens_details?.thinking_tokens ?? 0,
  }
}

/**
 * The assistant message with LiteLLM's extensions: `reasoning_content` (the thinking text) and
 * `thinking_blocks` (with signatures, to be sent back on the next turn of a tool loop).
 */
export type AssistantMessage = ChatCompletion.Choice['message'] & {
  reasoning_content?: string
  thinking_blocks?: RoundTripThinkingBlock[]
}

export interface ResponseOptions {
  /** From toAnthropicRequest: a tool_use of this name is the answer, not a tool call. */
  forcedJsonTool?: string
}

export function fromAnthropicMessage(message: Message, options: ResponseOptions = {}): Completion {
  const texts: string[] = []
  const thinking: string[] = []
  const thinkingBlocks: RoundTripThinkingBlock[] = []
  const toolCalls: ChatCompletionMessageFunctionToolCall[] = []
  let json: string | undefined
  for (const block of message.content) {
    switch (block.type) {
      case 'text':
        texts.push(block.text)
        break
      case 'thinking':
        thinking.push(block.thinking)
        thinkingBlocks.push({ type: 'thinking', thinking: block.thinking, signature: block.signature })
        break
      case 'redacted_thinking':
        thinkingBlocks.push({ type: 'redacted_thinking', data: block.data })
        break
      case 'tool_use':
        if (block.name === options.forcedJsonTool) json = JSON.stringify(block.input)
        else {
          const fn = { name: block.name, arguments: JSON.stringify(block.input) }
          toolCalls.push({ id: block.id, type: 'function', function: fn })
        }
        break
      // Server tools (web search, code execution…) ran upstream; OpenAI has no shape for them.
    }
  }

  const assistant: AssistantMessage = {
    role: 'assistant',
    // When the answer came through the JSON tool, any text around it would break the JSON.
    content: json ?? (texts.length > 0 ? texts.join('') : null),
    refusal: null,
  }
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls
  // Models that omit thinking text still send signed blocks: no text, no reasoning_content.
  const reasoning = thinking.join('')
  if (reasoning !== '') assistant.reasoning_content = reasoning
  if (thinkingBlocks.length > 0) assistant.thinking_blocks = thinkingBlocks

  const body: ChatCompletion = {
    id: message.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [{
      index: 0,
      message: assistant,
      finish_reason: finishReason(message.stop_reason, json !== undefined, toolCalls.length > 0),
      logprobs: null,
    }],
    usage: toOpenAIUsage(message.usage),
  }
  return { body, usage: toGatewayUsage(message.usage) }
}
