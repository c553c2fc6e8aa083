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
  return parts.join('\n')
}
