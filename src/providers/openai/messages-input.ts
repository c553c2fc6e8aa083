// Anthropic `system` + `messages` → chat `messages`. Anthropic keeps tool results inside user
// turns and tool calls inside assistant turns as content blocks; chat has a `tool` message per
// result and `tool_calls` on the assistant message. Errors name the field the way the caller
// wrote it (`messages[2].content[1].tool_use_id`).
//
// Left out and recorded in `omitted` (no chat equivalent; never a 400, so that Claude Code keeps
// working whatever it sends): thinking and redacted_thinking blocks (`messages.thinking`: a chat
// server cannot check Anthropic's signatures, and ours are empty), documents, search results,
// server-tool blocks (`server_tool_use`, `web_search_tool_result`, …) and any block type this
// file does not know (`messages.<type>`). `cache_control` and `citations` are dropped silently:
// OpenAI caches prompts by itself.
import { invalidRequest } from '../../errors.ts'
import { appendAll, stringField } from './responses-input.ts'
import { isObject } from './responses-tools.ts'

type Json = Record<string, unknown>

export function chatMessages(body: Json, omitted: Set<string>): Json[] {
  const messages: Json[] = []
  if (body.system != null) {
    const system = systemText(body.system, 'system', omitted)
    if (system !== '') messages.push({ role: 'system', content: system })
  }
  if (!Array.isArray(body.messages)) throw invalidRequest('messages must be an array.', 'messages')
  body.messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`
    if (!isObject(message)) throw invalidRequest('Each message must be an object.', at)
    switch (message.role) {
      case 'user':
        appendAll(messages, userMessages(message.content, `${at}.content`, omitted))
        break
      case 'assistant': {
        const assistant = assistantMessage(message.content, `${at}.content`, omitted)
        if (assistant) messages.push(assistant)
        break
      }
      case 'system': {
        // Claude Code sends one after the user's turn (its environment notes): it stays where it stands.
        const system = systemText(message.content, `${at}.content`, omitted)
        if (system !== '') messages.push({ role: 'system', content: system })
        break
      }
      default:
        throw invalidRequest(`Unknown message role '${String(message.role)}'.`, `${at}.role`)
    }
  })
  return messages
}

/**
 * System text as one string: some chat servers (Groq) take a system message's content only as a
 * string. Blocks are paragraphs of one prompt, so they are joined by a blank line.
 */
function systemText(content: unknown, param: string, omitted: Set<string>): string {
  const texts: string[] = []
  blocksOf(content, param).forEach((block, j) => {
    if (block.type === 'text') texts.push(stringField(block, 'text', `${param}[${j}]`))
    else omitBlock(block, `${param}[${j}]`, omitted)
  })
  return texts.join('\n\n')
}

/**
 * One user turn: a `tool` message per tool_result, in order, then the turn's own text and
 * images (chat wants the tool messages right after the assistant message that called them).
 * Images a tool returned follow the tool messages in a user message, as chat tool messages hold
 * text only.
 */
function userMessages(content: unknown, param: string, omitted: Set<string>): Json[] {
  if (typeof content === 'string') return [{ role: 'user', content }]
  const tools: Json[] = []
  const parts: Json[] = []
  const toolImages: Json[] = []
  blocksOf(content, param).forEach((block, j) => {
    const at = `${param}[${j}]`
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: stringField(block, 'text', at) })
        break
      case 'image':
        parts.push(imagePart(block, at))
        break
      case 'tool_result': {
        const result = toolResult(block, at, omitted)
        tools.push(result.message)
        appendAll(toolImages, result.images)
        break
      }
      default:
        omitBlock(block, at, omitted)
    }
  })
  const user = [...toolImages, ...parts]
  if (user.length === 0) return tools
  // A turn of one text block is a plain string: what every chat server takes.
  const only = user.length === 1 ? user[0] : undefined
  return [...tools, { role: 'user', content: only?.type === 'text' ? only.text : user }]
}

/**
 * One assistant turn: its text, and its tool_use blocks as tool_calls. Texts are joined as they
 * are (the blocks of one answer, split around tool calls). Nothing left (a turn of thinking only):
 * no message, as chat servers refuse an assistant message without content or tool calls.
 */
function assistantMessage(content: unknown, param: string, omitted: Set<string>): Json | undefined {
  if (typeof content === 'string') return { role: 'assistant', content }
  const texts: string[] = []
  const calls: Json[] = []
  blocksOf(content, param).forEach((block, j) => {
    const at = `${param}[${j}]`
    switch (block.type) {
      case 'text':
        texts.push(stringField(block, 'text', at))
        break
      case 'tool_use': {
        const fn = { name: stringField(block, 'name', at), arguments: JSON.stringify(block.input ?? {}) }
        calls.push({ id: stringField(block, 'id', at), type: 'function', function: fn })
        break
      }
      default:
        omitBlock(block, at, omitted)
    }
  })
  if (texts.length === 0 && calls.length === 0) return undefined
  const message: Json = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null }
  if (calls.length > 0) message.tool_calls = calls
  return message
}

/**
 * A tool_result as a `tool` message (its text; chat has no error flag, so an error result says
 * so in words) and the images it returned, which travel in the user message after it.
 */
function toolResult(block: Json, at: string, omitted: Set<string>): { message: Json; images: Json[] } {
  const id = stringField(block, 'tool_use_id', at)
  const texts: string[] = []
  const images: Json[] = []
  const content = block.content
  if (typeof content === 'string') texts.push(content)
  else if (content != null) {
    blocksOf(content, `${at}.content`).forEach((part, k) => {
      const where = `${at}.content[${k}]`
      if (part.type === 'text') texts.push(stringField(part, 'text', where))
      else if (part.type === 'image') images.push(imagePart(part, where))
      else omitBlock(part, where, omitted)
    })
  }
  let text = texts.join('\n\n')
  if (block.is_error === true) text = text === '' ? 'Error' : `Error: ${text}`
  return { message: { role: 'tool', tool_call_id: id, content: text }, images }
}

/**
 * An image: base64 data as a data URL, a URL as it is. A Files API id names a file stored at
 * Anthropic, which a chat server cannot fetch: refused rather than the image silently lost.
 */
function imagePart(block: Json, at: string): Json {
  const source = isObject(block.source) ? block.source : {}
  if (source.type === 'base64') {
    const mediaType = stringField(source, 'media_type', `${at}.source`)
    const data = stringField(source, 'data', `${at}.source`)
    return { type: 'image_url', image_url: { url: `data:${mediaType};base64,${data}` } }
  }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: stringField(source, 'url', `${at}.source`) } }
  throw invalidRequest('Images for this model must be base64 or url sources; file sources are only for Anthropic models.', `${at}.source.type`)
}

function omitBlock(block: Json, at: string, omitted: Set<string>): void {
  const type = blockType(block, at)
  omitted.add(type === 'redacted_thinking' ? 'messages.thinking' : `messages.${type}`)
}

function blockType(block: Json, at: string): string {
  if (typeof block.type !== 'string') throw invalidRequest('Each content block needs a type.', `${at}.type`)
  return block.type
}

/** Content as blocks: a string is one text block. */
function blocksOf(content: unknown, param: string): Json[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  if (!Array.isArray(content)) throw invalidRequest('content must be a string or an array of content blocks.', param)
  return content.map((block: unknown, j) => {
    if (!isObject(block)) throw invalidRequest('Each content block must be an object.', `${param}[${j}]`)
    return block
  })
}
