// What an MCP tool result becomes for the model (src/agent/mcp/content.ts): text joined, other
// blocks described, and a result of the server's choosing bounded before anything else costs its length.
import t from 'tap'
import { MAX_TOOL_RESULT_CHARS, renderContent } from '../../src/agent/mcp/content.ts'

t.test('text blocks are joined, an image is described by its size', async (t) => {
  const text = renderContent({ content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'image', mimeType: 'image/png', data: 'AAAA' }] })
  t.equal(text, 'a\nb\n{"type":"image","mimeType":"image/png","bytes":3}')
})

t.test('a result past MAX_TOOL_RESULT_CHARS is cut, and says so', async (t) => {
  const huge = 'x'.repeat(3 * MAX_TOOL_RESULT_CHARS)
  const text = renderContent({ content: [{ type: 'text', text: huge }] })
  t.ok(text.length < MAX_TOOL_RESULT_CHARS + 100, `cut to the limit (${text.length} characters)`)
  t.ok(text.startsWith('x'.repeat(1000)), 'the start is kept')
  t.match(text, /\[2,000,000 more characters of the tool's result were cut by the gateway\]$/)
  const emoji = renderContent({ content: [{ type: 'text', text: `${'x'.repeat(MAX_TOOL_RESULT_CHARS - 1)}😀😀` }] })
  t.notMatch(emoji.split('\n')[0]!.slice(-1), /[\ud800-\udbff]/, 'never half a surrogate pair')
  t.equal(renderContent({ content: [{ type: 'text', text: 'x'.repeat(MAX_TOOL_RESULT_CHARS) }] }).length, MAX_TOOL_RESULT_CHARS, 'the limit itself is kept whole')
})
