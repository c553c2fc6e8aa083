// OpenAI Responses API (ingress) ⇄ Chat Completions (upstream): for OpenAI-compatible servers
// that have no /v1/responses, the offline demo, and as the first half of responses → Anthropic
// (composed with chat → messages in core/translate-via.ts). Pure: no network, no telemetry.
//
// The request's conversation is translated in responses-input.ts, its tools in
// responses-tools.ts; the answer is built from the shared pieces in responses-output.ts, and the
// stream in responses-stream.ts, so a streamed Response equals the JSON one.
//
// Dropped, as chat servers have no equivalent or may refuse them: metadata (kept in the echoed
// Response), store, include, prompt_cache_key, client_metadata, service_tier, truncation,
// background, stream_options, reasoning.summary / reasoning.context (thinking text always comes
// back as the summary), previous_response_id (the dispatch resolves it before this runs).
// Left out and recorded in `omitted` (they change what the model does): hosted tools, a
// tool_choice naming one, hosted-tool items in the input, text.verbosity, max_tool_calls,
// top_logprobs.
import type { ModelTraits, StreamTranslator, TranslatedAnswer, Translator, UpstreamRequest } from '../../core/translator.ts'
import { invalidRequest } from '../../errors.ts'
import { thinkingBlocksOf } from './reasoning-carry.ts'
import { chatMessages } from './responses-input.ts'
import {
  callItem,
  callItemId,
  callShape,
  chatFacts,
  finishedResponse,
  messageItem,
  newId,
  reasoningItem,
  refusalPart,
  responseShell,
  statusFor,
  textPart,
  unixNow,
} from './responses-output.ts'
import { ResponsesStreamTranslator } from './responses-stream.ts'
import { isObject, toolChoice, toolPlan, type ToolPlan } from './responses-tools.ts'

type Json = Record<string, unknown>

/** Fields that need a server of OpenAI's to mean anything: refused rather than silently lost. */
const OPENAI_ONLY = ['prompt', 'conversation'] as const

export function responsesRequestToChat(body: Json, model: string, stream: boolean, traits?: ModelTraits): UpstreamRequest {
  for (const field of OPENAI_ONLY) {
    if (body[field] != null) throw invalidRequest(`${field} can only be used with OpenAI models.`, field)
  }
  const omitted = new Set<string>()
  const plan = toolPlan(body, omitted)
  const chat: Json = { model, messages: chatMessages(body, plan, omitted) }

  if (plan.tools.length > 0) {
    chat.tools = plan.tools
    const choice = toolChoice(body.tool_choice, plan, omitted)
    if (choice !== undefined) chat.tool_choice = choice
    // Chat servers refuse parallel_tool_calls without tools.
    if (typeof body.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = body.parallel_tool_calls
  } else if (body.tool_choice != null && body.tool_choice !== 'auto' && body.tool_choice !== 'none') {
    omitted.add(isObject(body.tool_choice) ? `tool_choice.${String(body.tool_choice.type)}` : 'tool_choice')
  }

  const text = isObject(body.text) ? body.text : {}
  const format = responseFormat(text.format)
  if (format) chat.response_format = format
  if (text.verbosity != null) omitted.add('text.verbosity')

  const reasoning = isObject(body.reasoning) ? body.reasoning : {}
  if (typeof reasoning.effort === 'string') chat.reasoning_effort = reasoning.effort
  // Clamped to the model's ceiling where the provider says, as on the Messages API.
  if (typeof body.max_output_tokens === 'number') chat.max_tokens = Math.min(body.max_output_tokens, traits?.maxOutputTokens ?? Infinity)
  if (body.temperature != null) chat.temperature = body.temperature
  if (body.top_p != null) chat.top_p = body.top_p
  const user = body.user ?? body.safety_identifier
  if (typeof user === 'string') chat.user = user
  if (body.max_tool_calls != null) omitted.add('max_tool_calls')
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0) omitted.add('top_logprobs')

  if (stream) {
    chat.stream = true
    chat.stream_options = { include_usage: true }
  }
  return omitted.size > 0 ? { body: chat, omitted: [...omitted] } : { body: chat }
}

function responseFormat(format: unknown): Json | undefined {
  if (!isObject(format) || format.type === 'text') return undefined
  if (format.type === 'json_object') return { type: 'json_object' }
  if (format.type === 'json_schema') {
    if (!isObject(format.schema)) throw invalidRequest('text.format.schema is required.', 'text.format.schema')
    const schema: Json = { name: format.name ?? 'response', schema: format.schema }
    if (typeof format.description === 'string') schema.description = format.description
    if (typeof format.strict === 'boolean') schema.strict = format.strict
    return { type: 'json_schema', json_schema: schema }
  }
  throw invalidRequest(`Unknown text.format type '${String(format.type)}'.`, 'text.format.type')
}

/** The output items of one chat answer: reasoning, then the message, then the tool calls. */
export function outputItems(message: Json, plan: ToolPlan, finishReason: unknown): Json[] {
  const output: Json[] = []
  const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : ''
  const blocks = thinkingBlocksOf(message.thinking_blocks)
  if (reasoning !== '' || blocks.length > 0) output.push(reasoningItem(newId('rs'), reasoning, blocks))

  const parts: Json[] = []
  if (typeof message.content === 'string' && message.content !== '') parts.push(textPart(message.content))
  if (typeof message.refusal === 'string' && message.refusal !== '') parts.push(refusalPart(message.refusal))
  if (parts.length > 0) output.push(messageItem(newId('msg'), parts, 'completed'))

  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : []
  for (const call of calls) {
    // We offer chat servers function tools only: a call of another type has no tool to go to.
    if (!isObject(call) || !isObject(call.function)) continue
    const shape = callShape(plan, String(call.function.name ?? ''), String(call.id ?? ''))
    const args = typeof call.function.arguments === 'string' ? call.function.arguments : ''
    output.push(callItem(callItemId(shape), shape, args, 'completed'))
  }
  // Cut short (max tokens, a filter): the item being written when it stopped is incomplete, as OpenAI marks it.
  const last = output.at(-1)
  if (last && statusFor(finishReason).status === 'incomplete' && last.type !== 'reasoning') last.status = 'incomplete'
  return output
}

export function chatCompletionToResponse(completion: Json, request: Json): TranslatedAnswer {
  const choice = Array.isArray(completion.choices) && isObject(completion.choices[0]) ? completion.choices[0] : {}
  const message = isObject(choice.message) ? choice.message : {}
  const finishReason = choice.finish_reason
  const shell = responseShell(request, newId('resp'), unixNow(), completion.model)
  const body = finishedResponse(shell, outputItems(message, toolPlan(request), finishReason), finishReason, completion.usage)
  return { body, ...chatFacts(completion, finishReason == null ? [] : [String(finishReason)]) }
}

export const responsesToChat: Translator = {
  ingress: 'responses',
  upstream: 'chat',
  request: responsesRequestToChat,
  response: chatCompletionToResponse,
  stream(request: Json): StreamTranslator {
    return new ResponsesStreamTranslator(request, toolPlan(request))
  },
}
