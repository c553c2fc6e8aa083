// Responses `instructions` + `input` → chat `messages`. A Responses conversation is a flat list
// of items (messages, function calls, their outputs, reasoning); chat folds one assistant turn
// (reasoning, text, tool calls) into one assistant message followed by one `tool` message per
// call. So items that belong to one assistant turn are gathered until something else (a user,
// system or tool-output item) closes the turn. Errors name the field the way the caller wrote it.
import { invalidRequest } from '../../errors.ts'
import { decodeThinking, type ThinkingBlock } from './reasoning-carry.ts'
import { isObject, type ToolPlan } from './responses-tools.ts'

type Json = Record<string, unknown>

interface AssistantTurn {
  texts: string[]
  reasoning: string[]
  blocks: ThinkingBlock[]
  toolCalls: Json[]
}

/** Hosted-tool items a chat upstream has no place for: left out (and recorded) rather than refused. */
const HOSTED_ITEMS = new Set([
  'web_search_call', 'file_search_call', 'computer_call', 'computer_call_output', 'code_interpreter_call',
  'image_generation_call', 'local_shell_call', 'local_shell_call_output', 'shell_call', 'shell_call_output',
  'apply_patch_call', 'apply_patch_call_output', 'mcp_list_tools', 'mcp_approval_request',
  'mcp_approval_response', 'mcp_call', 'tool_search_call', 'tool_search_output', 'compaction',
])

export function chatMessages(body: Json, plan: ToolPlan, omitted: Set<string>): Json[] {
  const messages: Json[] = []
  let turn: AssistantTurn | undefined
  /** Images a tool returned: chat tool messages hold text only, so they follow the tool messages. */
  let toolImages: Json[] = []

  const closeTurn = () => {
    // Reasoning with nothing said after it has no message to travel on (and chat servers refuse
    // an assistant message without content or tool calls): it is left out.
    if (turn && (turn.texts.length > 0 || turn.toolCalls.length > 0)) messages.push(assistantMessage(turn))
    turn = undefined
  }
  const flushToolImages = () => {
    if (toolImages.length > 0) messages.push({ role: 'user', content: toolImages })
    toolImages = []
  }
  const openTurn = (): AssistantTurn => {
    flushToolImages()
    turn ??= { texts: [], reasoning: [], blocks: [], toolCalls: [] }
    return turn
  }
  const push = (message: Json) => {
    closeTurn()
    if (message.role !== 'tool') flushToolImages()
    messages.push(message)
  }

  if (typeof body.instructions === 'string' && body.instructions !== '') {
    messages.push({ role: 'system', content: body.instructions })
  }
  const input = body.input
  const items: unknown[] = typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : input == null ? [] : (input as unknown[])
  if (!Array.isArray(items)) throw invalidRequest('input must be a string or an array of items.', 'input')

  items.forEach((item: unknown, i) => {
    const at = `input[${i}]`
    if (!isObject(item)) throw invalidRequest('Each input item must be an object.', at)
    // A message may leave out `type` (the SDK's "easy input message").
    const type = item.type ?? (item.role === undefined ? undefined : 'message')
    switch (type) {
      case 'message':
        if (item.role === 'assistant') {
          appendAll(openTurn().texts, assistantTexts(item.content, `${at}.content`))
        } else {
          push(inputMessage(item, at))
        }
        break
      case 'reasoning': {
        const current = openTurn()
        if (Array.isArray(item.summary)) {
          for (const part of item.summary) if (isObject(part) && typeof part.text === 'string') current.reasoning.push(part.text)
        }
        appendAll(current.blocks, decodeThinking(item.encrypted_content, `${at}.encrypted_content`) ?? [])
        break
      }
      case 'function_call':
      case 'custom_tool_call':
        openTurn().toolCalls.push(toolCall(item, plan, at))
        break
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const { content, images } = toolOutput(item.output, `${at}.output`)
        push({ role: 'tool', tool_call_id: stringField(item, 'call_id', at), content })
        appendAll(toolImages, images)
        break
      }
      case 'additional_tools':
        // Its tools joined the request's tools (responses-tools.ts).
        break
      case 'item_reference':
        throw invalidRequest('Item references can only be resolved by OpenAI models; send the item itself.', `${at}.id`)
      default:
        if (typeof type === 'string' && HOSTED_ITEMS.has(type)) {
          omitted.add(`input.${type}`)
          break
        }
        throw invalidRequest(`Unknown input item type '${String(type)}'.`, `${at}.type`)
    }
  })
  closeTurn()
  flushToolImages()
  return messages
}

function assistantMessage(turn: AssistantTurn): Json {
  const message: Json = { role: 'assistant', content: turn.texts.length > 0 ? turn.texts.join('') : null }
  if (turn.toolCalls.length > 0) message.tool_calls = turn.toolCalls
  if (turn.reasoning.length > 0) message.reasoning_content = turn.reasoning.join('\n\n')
  if (turn.blocks.length > 0) message.thinking_blocks = turn.blocks
  return message
}

function assistantTexts(content: unknown, param: string): string[] {
  if (typeof content === 'string') return [content]
  if (!Array.isArray(content)) throw invalidRequest('content must be a string or an array of parts.', param)
  return content.map((part: unknown, j) => {
    if (isObject(part) && (part.type === 'output_text' || part.type === 'input_text') && typeof part.text === 'string') return part.text
    // What the model refused to do was said to the caller: it stays in the conversation as text.
    if (isObject(part) && part.type === 'refusal' && typeof part.refusal === 'string') return part.refusal
    throw invalidRequest('Assistant content parts must be output_text or refusal.', `${param}[${j}]`)
  })
}

/** A user, system or developer message (developer is chat's system for servers that lack the role). */
function inputMessage(item: Json, at: string): Json {
  const role = item.role === 'developer' ? 'system' : item.role
  if (role !== 'user' && role !== 'system') throw invalidRequest(`Unknown message role '${String(item.role)}'.`, `${at}.role`)
  const content = item.content
  if (typeof content === 'string') return { role, content }
  if (!Array.isArray(content)) throw invalidRequest('content must be a string or an array of parts.', `${at}.content`)
  const parts = content.map((part: unknown, j) => contentPart(part, `${at}.content[${j}]`))
  if (role === 'system') {
    parts.forEach((part, j) => {
      if (part.type !== 'text') throw invalidRequest('System and developer messages hold text only.', `${at}.content[${j}]`)
    })
    // One part as a plain string: what every chat server takes.
    if (parts.length === 1) return { role, content: parts[0]?.text }
  }
  return { role, content: parts }
}

function contentPart(part: unknown, param: string): Json {
  if (!isObject(part)) throw invalidRequest('Each content part must be an object.', param)
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: stringField(part, 'text', param) }
    case 'input_image':
      return imagePart(part, param)
    case 'input_file': {
      if (typeof part.file_data !== 'string') {
        throw invalidRequest('Only inline files (file_data) can be sent to this model; file_id and file_url are OpenAI\'s.', param)
      }
      const file: Json = { file_data: part.file_data }
      if (typeof part.filename === 'string') file.filename = part.filename
      return { type: 'file', file }
    }
    default:
      throw invalidRequest(`Content parts of type '${String(part.type)}' are not supported for this model.`, `${param}.type`)
  }
}

/** `file_id` names a file stored at OpenAI, which a chat-only server cannot fetch: refused, not dropped. */
function imagePart(part: Json, param: string): Json {
  if (typeof part.image_url !== 'string') {
    throw invalidRequest('Images must be given as image_url (an http(s) or data URL); file_id is only for OpenAI models.', param)
  }
  const image: Json = { url: part.image_url }
  if (typeof part.detail === 'string') image.detail = part.detail
  return { type: 'image_url', image_url: image }
}

function toolCall(item: Json, plan: ToolPlan, at: string): Json {
  const namespace = typeof item.namespace === 'string' ? item.namespace : undefined
  const name = plan.chatName(stringField(item, 'name', at), namespace)
  const args = item.type === 'custom_tool_call'
    ? JSON.stringify({ input: stringField(item, 'input', at) })
    : stringField(item, 'arguments', at)
  return { id: stringField(item, 'call_id', at), type: 'function', function: { name, arguments: args } }
}

/** A tool's output: its text for the tool message, its images for a user message after it. */
function toolOutput(output: unknown, param: string): { content: unknown; images: Json[] } {
  if (typeof output === 'string') return { content: output, images: [] }
  if (!Array.isArray(output)) throw invalidRequest('output must be a string or an array of parts.', param)
  const texts: Json[] = []
  const images: Json[] = []
  output.forEach((part: unknown, j) => {
    const mapped = contentPart(part, `${param}[${j}]`)
    if (mapped.type === 'text') texts.push(mapped)
    else images.push(mapped)
  })
  const content = texts.length === 1 ? texts[0]?.text : texts.length === 0 ? '' : texts
  return { content, images }
}

/** One push per item: spreading a caller-sized list into push() overflows the stack. */
export function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item)
}

export function stringField(item: Json, key: string, at: string): string {
  const value = item[key]
  if (typeof value !== 'string') throw invalidRequest(`${key} must be a string.`, `${at}.${key}`)
  return value
}
