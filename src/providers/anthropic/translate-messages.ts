// OpenAI `messages` → Anthropic `system` + `messages`. Anthropic keeps the system prompt out of
// the conversation, wants user and assistant turns to alternate, and carries tool results inside
// user turns; everything here follows from those three rules. Errors name the offending field
// the way the caller wrote it (`messages[2].tool_calls[0].function.arguments`).
import type {
  Base64ImageSource,
  CacheControlEphemeral,
  ContentBlockParam,
  DocumentBlockParam,
  ImageBlockParam,
  MessageParam,
  RedactedThinkingBlockParam,
  TextBlockParam,
  ThinkingBlockParam,
  ToolResultBlockParam,
  ToolUseBlockParam,
  URLImageSource,
} from '@anthropic-ai/sdk/resources/messages'
import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionContentPart,
  ChatCompletionContentPartRefusal,
  ChatCompletionContentPartText,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions'
import { invalidRequest } from '../../errors.ts'
import { jsonShape, MAX_JSON_DEPTH, MAX_JSON_ITEMS } from '../../json-body.ts'

export interface AnthropicConversation {
  system: TextBlockParam[]
  messages: MessageParam[]
}

/** A thinking block as callers send it back (LiteLLM's `thinking_blocks` on assistant messages). */
export type RoundTripThinkingBlock = ThinkingBlockParam | RedactedThinkingBlockParam

interface Turn {
  role: 'user' | 'assistant'
  content: string | ContentBlockParam[]
}

export function toAnthropicMessages(messages: ChatCompletionMessageParam[]): AnthropicConversation {
  const system: TextBlockParam[] = []
  const turns: Turn[] = []
  messages.forEach((message, i) => {
    const at = `messages[${i}]`
    switch (message.role) {
      case 'system':
      case 'developer':
        // Anthropic has one system prompt; every system/developer message joins it, in order.
        appendAll(system, textBlocks(message.content, `${at}.content`))
        break
      case 'user':
        addTurn(turns, 'user', userContent(message.content, `${at}.content`))
        break
      case 'assistant': {
        const blocks = assistantBlocks(message, at)
        // An assistant message with nothing in it (content null, no tool calls) says nothing,
        // and Anthropic rejects empty turns.
        if (blocks.length > 0) addTurn(turns, 'assistant', blocks)
        break
      }
      case 'tool':
        addTurn(turns, 'user', [toolResult(message.tool_call_id, message.content, at)])
        break
      case 'function':
        throw invalidRequest('Legacy `function` messages are not supported for Anthropic models; use tools.',
          `${at}.role`)
      default:
        throw invalidRequest(`Unknown message role.`, `${at}.role`)
    }
  })
  return { system, messages: turns }
}

/**
 * Consecutive turns of one role are merged: Anthropic needs alternation, and several tool
 * results answering one assistant turn must travel in a single user turn. The merged turn's
 * block list is appended to in place: copying it on every merge made 20,000 one-word user
 * messages quadratic (seconds of a frozen event loop). Every array reaching here was built by
 * this file for this request, so appending to it changes nothing of the caller's.
 */
function addTurn(turns: Turn[], role: Turn['role'], content: string | ContentBlockParam[]): void {
  const last = turns.at(-1)
  if (last?.role !== role) {
    turns.push({ role, content })
    return
  }
  if (typeof last.content === 'string') last.content = asBlocks(last.content)
  appendAll(last.content, asBlocks(content))
}

function asBlocks(content: string | ContentBlockParam[]): ContentBlockParam[] {
  if (typeof content !== 'string') return content
  return content === '' ? [] : [{ type: 'text', text: content }]
}

/**
 * `target.push(...items)` passes every item as an argument on the stack: a caller-sized list
 * (200,000 system parts) overflows it. One push per item has no such limit.
 */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item)
}

function textBlocks(content: string | ChatCompletionContentPartText[], param: string): TextBlockParam[] {
  // Anthropic rejects empty text blocks; an empty system message says nothing anyway.
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }]
  return content.map((part, j) => {
    if (part.type !== 'text') throw invalidRequest('Only text content parts are allowed here.', `${param}[${j}]`)
    return textBlock(part, `${param}[${j}]`)
  })
}

function textBlock(part: ChatCompletionContentPartText, param: string): TextBlockParam {
  const cacheControl = cacheControlOf(part, param)
  return cacheControl
    ? { type: 'text', text: part.text, cache_control: cacheControl }
    : { type: 'text', text: part.text }
}

/**
 * `cache_control` is not OpenAI's, but callers of Anthropic through OpenAI-shaped gateways put it
 * on content parts (LiteLLM's convention) to set prompt-cache breakpoints; without it prompt
 * caching cannot be used at all through the gateway.
 */
function cacheControlOf(part: object, param: string): CacheControlEphemeral | undefined {
  if (!('cache_control' in part) || part.cache_control == null) return undefined
  const value: unknown = part.cache_control
  if (typeof value === 'object' && value !== null && 'type' in value && value.type === 'ephemeral') {
    return value as CacheControlEphemeral
  }
  throw invalidRequest("cache_control must be {type: 'ephemeral', ttl?: '5m' | '1h'}.", `${param}.cache_control`)
}

// A string stays a string (the common case, and what Anthropic's own SDKs send); parts become blocks.
function userContent(content: string | ChatCompletionContentPart[], param: string): string | ContentBlockParam[] {
  if (typeof content === 'string') return content
  return content.map((part, j): ContentBlockParam => {
    const at = `${param}[${j}]`
    switch (part.type) {
      case 'text':
        return textBlock(part, at)
      case 'image_url':
        return withCacheControl<ImageBlockParam>(
          { type: 'image', source: imageSource(part.image_url.url, `${at}.image_url.url`) },
          part,
          at,
        )
      case 'file':
        return withCacheControl<DocumentBlockParam>(pdfDocument(part.file.file_data, `${at}.file`), part, at)
      default:
        throw invalidRequest(`Content parts of type '${part.type}' are not supported for Anthropic models.`,
          `${at}.type`)
    }
  })
}

function withCacheControl<T extends { cache_control?: CacheControlEphemeral | null }>(
  block: T,
  part: object,
  param: string,
): T {
  const cacheControl = cacheControlOf(part, param)
  return cacheControl ? { ...block, cache_control: cacheControl } : block
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s
const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp'])

function imageSource(url: string, param: string): Base64ImageSource | URLImageSource {
  const data = DATA_URL.exec(url)
  if (data) {
    // `image/jpg` is common in the wild and means the same thing.
    const mediaType = data[1] === 'image/jpg' ? 'image/jpeg' : (data[1] ?? '')
    if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
      throw invalidRequest(`Image type '${mediaType}' is not supported; use jpeg, png, gif or webp.`, param)
    }
    return { type: 'base64', media_type: mediaType as Base64ImageSource['media_type'], data: data[2] ?? '' }
  }
  if (/^https?:\/\//i.test(url)) return { type: 'url', url }
  throw invalidRequest('Image URLs must be http(s) URLs or base64 data URLs.', param)
}

// Anthropic reads PDFs natively; an OpenAI file part with inline PDF data maps onto that.
function pdfDocument(fileData: string | undefined, param: string): DocumentBlockParam {
  const data = fileData === undefined ? null : DATA_URL.exec(fileData)
  if (!data || data[1] !== 'application/pdf') {
    throw invalidRequest(
      'Only inline PDF files (file_data as a base64 data URL) are supported for Anthropic models.',
      param,
    )
  }
  return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data[2] ?? '' } }
}

function assistantBlocks(message: ChatCompletionAssistantMessageParam, at: string): ContentBlockParam[] {
  if (message.function_call) {
    throw invalidRequest('Legacy `function_call` is not supported for Anthropic models; use tool_calls.',
      `${at}.function_call`)
  }
  // Thinking comes first: Anthropic verifies the signed blocks of a turn that used tools, and
  // rejects the request if they are missing or out of place.
  const blocks: ContentBlockParam[] = thinkingBlocks(message, at)
  for (const [j, part] of assistantParts(message.content).entries()) {
    const text = part.type === 'refusal' ? part.refusal : part.text
    // OpenAI SDKs send `content: ''` next to tool calls; Anthropic rejects empty text blocks.
    if (text === '') continue
    blocks.push(part.type === 'text' ? textBlock(part, `${at}.content[${j}]`) : { type: 'text', text })
  }
  message.tool_calls?.forEach((call, j) => blocks.push(toolUse(call, `${at}.tool_calls[${j}]`)))
  return blocks
}

function assistantParts(
  content: ChatCompletionAssistantMessageParam['content'],
): Array<ChatCompletionContentPartText | ChatCompletionContentPartRefusal> {
  if (content == null) return []
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content
}

function thinkingBlocks(message: ChatCompletionAssistantMessageParam, at: string): ContentBlockParam[] {
  const blocks: unknown = (message as { thinking_blocks?: unknown }).thinking_blocks
  if (blocks == null) return []
  if (!Array.isArray(blocks)) throw invalidRequest('thinking_blocks must be an array.', `${at}.thinking_blocks`)
  return blocks.map((block: unknown, k): RoundTripThinkingBlock => {
    if (isThinkingBlock(block)) return { type: 'thinking', thinking: block.thinking, signature: block.signature }
    if (isRedactedThinkingBlock(block)) return { type: 'redacted_thinking', data: block.data }
    throw invalidRequest(
      "Each thinking block must be {type: 'thinking', thinking, signature} or {type: 'redacted_thinking', data}.",
      `${at}.thinking_blocks[${k}]`,
    )
  })
}

function isThinkingBlock(block: unknown): block is ThinkingBlockParam {
  const b = block as Partial<ThinkingBlockParam> | null
  return b?.type === 'thinking' && typeof b.thinking === 'string' && typeof b.signature === 'string'
}

function isRedactedThinkingBlock(block: unknown): block is RedactedThinkingBlockParam {
  const b = block as Partial<RedactedThinkingBlockParam> | null
  return b?.type === 'redacted_thinking' && typeof b.data === 'string'
}

function toolUse(call: ChatCompletionMessageToolCall, at: string): ToolUseBlockParam {
  if (call.type !== 'function') {
    throw invalidRequest(`Tool calls of type '${call.type}' are not supported for Anthropic models.`, `${at}.type`)
  }
  const input = parseArguments(call.function.arguments, `${at}.function.arguments`)
  return { type: 'tool_use', id: call.id, name: call.function.name, input }
}

// Anthropic wants the input as an object, not as the JSON text OpenAI carries.
function parseArguments(text: string, param: string): Record<string, unknown> {
  // Some clients send '' for a call without arguments.
  if (text.trim() === '') return {}
  // JSON inside a string escapes the body's own limits: held to the same ones before it is parsed
  // (a million-deep chain parsed for a second here, then overflowed the SDK's stringify: a 5xx).
  const shape = jsonShape(text, MAX_JSON_DEPTH, MAX_JSON_ITEMS)
  if (shape === 'too deep') throw invalidRequest(`Tool call arguments nest more than ${MAX_JSON_DEPTH} levels deep.`, param)
  if (shape === 'too many items') throw invalidRequest(`Tool call arguments hold more than ${MAX_JSON_ITEMS} items.`, param)
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch {
    throw invalidRequest('Tool call arguments are not valid JSON.', param)
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidRequest('Tool call arguments must be a JSON object.', param)
  }
  return input as Record<string, unknown>
}

function toolResult(
  toolCallId: string,
  content: string | ChatCompletionContentPartText[],
  at: string,
): ToolResultBlockParam {
  return {
    type: 'tool_result',
    tool_use_id: toolCallId,
    content: typeof content === 'string' ? content : textBlocks(content, `${at}.content`),
  }
}
