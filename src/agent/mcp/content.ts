// What an MCP tool result becomes for the model: its text, with other blocks described briefly.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'

function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding)
}

/** Joins text blocks; other blocks are described in a line of JSON. */
export function renderContent(result: CallToolResult): string {
  const parts: string[] = []
  for (const block of result.content ?? []) {
    switch (block.type) {
      case 'text':
        parts.push(block.text)
        break
      case 'image':
      case 'audio':
        parts.push(JSON.stringify({ type: block.type, mimeType: block.mimeType, bytes: base64Bytes(block.data) }))
        break
      case 'resource_link':
        parts.push(JSON.stringify({ type: 'resource_link', uri: block.uri, name: block.name, mimeType: block.mimeType }))
        break
      case 'resource': {
        const resource = block.resource
        if ('text' in resource && typeof resource.text === 'string') parts.push(resource.text)
        else parts.push(JSON.stringify({ type: 'resource', uri: resource.uri, mimeType: resource.mimeType }))
        break
      }
      default:
        parts.push(JSON.stringify({ type: (block as { type?: unknown }).type }))
    }
  }
  if (parts.length === 0 && result.structuredContent !== undefined) parts.push(JSON.stringify(result.structuredContent))
  return capped(parts.join('\n'))
}

/**
 * A tool result longer than this is cut: a server's answer is of its own choosing, and everything
 * done with it after (scrubbing its secrets, the spans, the model call that carries it) costs its
 * length on the event loop. A million characters is ~250,000 tokens, past most context windows.
 */
export const MAX_TOOL_RESULT_CHARS = 1_000_000

function capped(text: string): string {
  if (text.length <= MAX_TOOL_RESULT_CHARS) return text
  // Not in the middle of a surrogate pair.
  const end = MAX_TOOL_RESULT_CHARS - (/[\ud800-\udbff]/.test(text[MAX_TOOL_RESULT_CHARS - 1] ?? '') ? 1 : 0)
  return `${text.slice(0, end)}\n[${(text.length - end).toLocaleString('en')} more characters of the tool's result were cut by the gateway]`
}
