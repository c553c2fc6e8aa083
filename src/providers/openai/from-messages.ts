// Anthropic Messages API (ingress) ⇄ Chat Completions (upstream): for callers of /v1/messages
// (Claude Code, the Anthropic SDKs) whose model is an OpenAI, OpenAI-compatible or demo model.
// Pure: no network, no telemetry.
//
// The conversation is translated in messages-input.ts, the tools in messages-tools.ts; the
// answer is built from the shared pieces in messages-output.ts, and the stream in
// messages-stream.ts, so a streamed Message equals the JSON one, usage included.
//
// Mapped: system (string or text blocks) → a leading system message; max_tokens →
// max_completion_tokens; stop_sequences → stop; temperature, top_p; thinking / output_config.effort
// → reasoning_effort where the model reasons; output_config.format → response_format.
// Dropped, as the gateway or no chat server needs them: metadata (its user_id is recorded on the
// span by the route; OpenAI's `user` is too short for Claude Code's JSON user id), stream (the
// dispatch's business), cache_control anywhere (OpenAI caches prompts by itself), diagnostics,
// user_profile_id, workspace_id. Left out and recorded in `omitted` (they change what the model
// does or where it runs): top_k, thinking and output_config.effort for a model that does not
// reason, context_management, container, mcp_servers, service_tier, inference_geo, speed, server
// tools, and the content blocks messages-input.ts lists.
import type { ModelTraits, StreamTranslator, TranslatedAnswer, Translator, UpstreamRequest } from '../../core/translator.ts'
import { GatewayError, invalidRequest } from '../../errors.ts'
import { chatMessages } from './messages-input.ts'
import { MessagesStreamTranslator } from './messages-stream.ts'
import { toolChoice, toolPlan } from './messages-tools.ts'
import {
  messageId,
  messageShell,
  messageUsage,
  reasoningOf,
  stopReason,
  textBlock,
  thinkingBlock,
  toolInput,
  toolUseId,
} from './messages-output.ts'
import { chatFacts } from './responses-output.ts'
import { isObject } from './responses-tools.ts'

type Json = Record<string, unknown>

/** Request fields that only an Anthropic server can act on: left out and recorded. */
const ANTHROPIC_ONLY = ['top_k', 'context_management', 'container', 'mcp_servers', 'service_tier', 'inference_geo', 'speed'] as const

export function messagesRequestToChat(body: Json, model: string, stream: boolean, traits?: ModelTraits): UpstreamRequest {
  const omitted = new Set<string>()
  const chat: Json = { model, messages: chatMessages(body, omitted) }

  const plan = toolPlan(body.tools, omitted)
  const choice = toolChoice(body.tool_choice, plan, omitted)
  if (plan.tools.length > 0) {
    chat.tools = plan.tools
    Object.assign(chat, choice)
  } else if (choice.tool_choice === 'required') {
    // Nothing left to force (only server tools, or none): chat servers refuse tool_choice without tools.
    omitted.add('tool_choice.any')
  }

  // Anthropic requires max_tokens and Claude Code asks 128,000 of any model: clamped to what the
  // upstream model allows, where the provider says, rather than refused there.
  if (typeof body.max_tokens === 'number') chat.max_completion_tokens = Math.min(body.max_tokens, traits?.maxOutputTokens ?? Infinity)
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) chat.stop = body.stop_sequences
  if (body.temperature != null) chat.temperature = body.temperature
  if (body.top_p != null) chat.top_p = body.top_p
  for (const field of ANTHROPIC_ONLY) if (body[field] != null) omitted.add(field)

  const output = isObject(body.output_config) ? body.output_config : {}
  const effort = reasoningEffort(body.thinking, output.effort)
  if (traits?.reasoning === true) {
    if (effort !== undefined) chat.reasoning_effort = effort
  } else {
    if (isObject(body.thinking) && body.thinking.type !== 'disabled') omitted.add('thinking')
    if (output.effort != null) omitted.add('output_config.effort')
  }
  const format = responseFormat(output.format)
  if (format) chat.response_format = format

  if (stream) {
    chat.stream = true
    chat.stream_options = { include_usage: true }
  }
  return omitted.size > 0 ? { body: chat, omitted: [...omitted] } : { body: chat }
}

/** Anthropic's effort levels above OpenAI's highest are OpenAI's highest. */
const EFFORTS: Record<string, string> = { low: 'low', medium: 'medium', high: 'high', xhigh: 'high', max: 'high' }

/**
 * The reasoning_effort for Anthropic's thinking settings: the effort level when the caller gave
 * one (adaptive thinking, or effort alone), else the size of an `enabled` thinking budget (up to
 * 2048 tokens low, up to 8192 medium, more high). Adaptive thinking without a level, or none at
 * all: undefined, the upstream model's own default.
 */
export function reasoningEffort(thinking: unknown, effort: unknown): string | undefined {
  if (isObject(thinking) && thinking.type === 'disabled') return undefined
  if (typeof effort === 'string' && Object.hasOwn(EFFORTS, effort)) return EFFORTS[effort]
  if (!isObject(thinking) || thinking.type !== 'enabled' || typeof thinking.budget_tokens !== 'number') return undefined
  if (thinking.budget_tokens <= 2048) return 'low'
  return thinking.budget_tokens <= 8192 ? 'medium' : 'high'
}

/**
 * `output_config.format` (Anthropic's structured outputs) → response_format. Not `strict`: OpenAI's
 * strict mode requires every property to be required, which Anthropic's schemas need not be.
 */
function responseFormat(format: unknown): Json | undefined {
  if (format == null) return undefined
  if (!isObject(format) || format.type !== 'json_schema') {
    throw invalidRequest("output_config.format must be of type 'json_schema'.", 'output_config.format.type')
  }
  if (!isObject(format.schema)) throw invalidRequest('output_config.format.schema is required.', 'output_config.format.schema')
  return { type: 'json_schema', json_schema: { name: 'response', schema: format.schema } }
}

/** The content of one chat answer: its reasoning, its text (a refusal is text too), its tool calls. */
export function contentBlocks(message: Json): Json[] {
  const content: Json[] = []
  const reasoning = reasoningOf(message)
  if (reasoning !== '') content.push(thinkingBlock(reasoning))
  const text = (typeof message.content === 'string' ? message.content : '') + (typeof message.refusal === 'string' ? message.refusal : '')
  if (text !== '') content.push(textBlock(text))
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : []
  for (const call of calls) {
    // We offer chat servers function tools only: a call of another type has no tool to go to.
    if (!isObject(call) || !isObject(call.function)) continue
    const args = typeof call.function.arguments === 'string' ? call.function.arguments : ''
    content.push({ type: 'tool_use', id: toolUseId(call.id), name: String(call.function.name ?? ''), input: toolInput(args) })
  }
  return content
}

export function chatCompletionToMessage(completion: Json, request: Json): TranslatedAnswer {
  if (!Array.isArray(completion.choices)) {
    throw new GatewayError('upstream_error', 'The upstream answered with something that is not a chat completion')
  }
  const choice = isObject(completion.choices[0]) ? completion.choices[0] : {}
  const content = contentBlocks(isObject(choice.message) ? choice.message : {})
  const model = typeof completion.model === 'string' && completion.model !== '' ? completion.model : String(request.model ?? '')
  const body = messageShell(messageId(completion.id), model, messageUsage(completion.usage))
  body.content = content
  body.stop_reason = stopReason(choice.finish_reason, content.some((block) => block.type === 'tool_use'))
  const finishReasons = choice.finish_reason == null ? [] : [String(choice.finish_reason)]
  return { body, ...chatFacts(completion, finishReasons) }
}

export const messagesToChat: Translator = {
  ingress: 'messages',
  upstream: 'chat',
  request: messagesRequestToChat,
  response: chatCompletionToMessage,
  stream(request: Json): StreamTranslator {
    return new MessagesStreamTranslator(request)
  },
}
