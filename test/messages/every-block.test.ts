// The passthrough carries what no recording in test/fixtures has: redacted thinking, Anthropic's
// own web search and web fetch with their results, citations (citations_delta), a stop sequence,
// container and context-management fields, server-tool usage, 1-hour cache writes, and a final
// message_delta whose cumulative counts differ from message_start's (server tools add input
// tokens as they run: the later count wins). HAND-WRITTEN, NOT RECORDED: the shapes follow
// Anthropic's API reference and SDK types (@anthropic-ai/sdk), the ids and signatures are made up.
// The client must get every event byte for byte apart from the gateway's two additions, the
// Anthropic SDK must assemble it into the same Message as the JSON answer, and the span must count
// the final usage.
import t from 'tap'
import Anthropic from '@anthropic-ai/sdk'
import { startObservedGateway, WAIT_MS } from '../telemetry/helpers.ts'
import { GATEWAY_KEY, headerIds, postMessages, type Json } from './helpers.ts'

t.setTimeout(120_000)

const MODEL = 'claude-sonnet-4-5-20250929'
const startUsage = {
  input_tokens: 10,
  cache_creation_input_tokens: 2000,
  cache_read_input_tokens: 500,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2000 },
  output_tokens: 1,
  service_tier: 'standard',
}
// What message_delta says at the end: cumulative, the web search and fetch results counted in.
const finalUsage = { input_tokens: 3010, cache_creation_input_tokens: 2000, cache_read_input_tokens: 500, output_tokens: 160, server_tool_use: { web_search_requests: 1, web_fetch_requests: 1 } }
// claude-sonnet-4-5 $3 / read $0.3 / 1h write $6 / $15: 3010 × 3 + 500 × 0.3 + 2000 × 6 + 160 × 15 = 23580 µ$
const COST = 0.02358

const citation = { type: 'web_search_result_location', cited_text: 'OpenTelemetry is a collection of APIs, SDKs, and tools.', url: 'https://opentelemetry.io/', title: 'OpenTelemetry', encrypted_index: 'Eo8BCioIAhgBIiQ5' }
const searchResult = { type: 'web_search_result', url: 'https://opentelemetry.io/', title: 'OpenTelemetry', encrypted_content: 'Eq0BCioIAhgB', page_age: null }
const fetchResult = {
  type: 'web_fetch_result',
  url: 'https://opentelemetry.io/docs/',
  content: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'OpenTelemetry docs' }, title: 'Docs', citations: null },
  retrieved_at: '2026-12-04T10:00:00Z',
}
const container = { id: 'container_011CNpTLbKd6jq1pbWQ4bxJk', expires_at: '2026-12-05T01:00:00Z' }
const contextManagement = { applied_edits: [{ type: 'clear_thinking_20251015', cleared_thinking_turns: 1, cleared_input_tokens: 1200 }] }

const content = [
  { type: 'thinking', thinking: 'Search first, then read the docs.', signature: 'ErUBCkYIBhgCIkD1signature' },
  { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
  { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: { query: 'OpenTelemetry' } },
  { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_01', content: [searchResult] },
  { type: 'server_tool_use', id: 'srvtoolu_02', name: 'web_fetch', input: { url: 'https://opentelemetry.io/docs/' } },
  { type: 'web_fetch_tool_result', tool_use_id: 'srvtoolu_02', content: fetchResult },
  { type: 'text', text: 'OpenTelemetry is an observability framework.', citations: [citation] },
]
const message = {
  id: 'msg_01EveryBlock',
  type: 'message',
  role: 'assistant',
  model: MODEL,
  content,
  stop_reason: 'stop_sequence',
  stop_sequence: '###',
  usage: { ...startUsage, ...finalUsage },
  container,
  context_management: contextManagement,
}

const events: Json[] = [
  { type: 'message_start', message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: startUsage, container: null, context_management: null } },
  { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
  { type: 'ping' },
  { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Search first, ' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'then read the docs.' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'ErUBCkYIBhgCIkD1signature' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'content_block_start', index: 1, content_block: content[1] },
  { type: 'content_block_stop', index: 1 },
  { type: 'content_block_start', index: 2, content_block: { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: {} } },
  { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"query": "Open' } },
  { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'Telemetry"}' } },
  { type: 'content_block_stop', index: 2 },
  { type: 'content_block_start', index: 3, content_block: content[3] },
  { type: 'content_block_stop', index: 3 },
  { type: 'content_block_start', index: 4, content_block: { type: 'server_tool_use', id: 'srvtoolu_02', name: 'web_fetch', input: {} } },
  { type: 'content_block_delta', index: 4, delta: { type: 'input_json_delta', partial_json: '{"url": "https://opentelemetry.io/docs/"}' } },
  { type: 'content_block_stop', index: 4 },
  { type: 'content_block_start', index: 5, content_block: content[5] },
  { type: 'content_block_stop', index: 5 },
  { type: 'content_block_start', index: 6, content_block: { type: 'text', text: '', citations: [] } },
  { type: 'content_block_delta', index: 6, delta: { type: 'citations_delta', citation } },
  { type: 'content_block_delta', index: 6, delta: { type: 'text_delta', text: 'OpenTelemetry is an ' } },
  { type: 'content_block_delta', index: 6, delta: { type: 'text_delta', text: 'observability framework.' } },
  { type: 'content_block_stop', index: 6 },
  { type: 'message_delta', delta: { stop_reason: 'stop_sequence', stop_sequence: '###', container }, usage: finalUsage, context_management: contextManagement },
  { type: 'message_stop' },
]
const sse = events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join('')

const { gateway, receiver, upstream } = await startObservedGateway(t, { GATEWAY_API_KEYS: GATEWAY_KEY })
t.beforeEach(() => upstream.reset())
const request = { model: MODEL, max_tokens: 2000, stop_sequences: ['###'], messages: [{ role: 'user', content: 'What is OpenTelemetry?' }] }

async function spanUsage(traceId: string | null): Promise<Json> {
  const [span] = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.request', 1, WAIT_MS)
  const a = span!.attributes
  return { input: a['llm.tokens.input'], output: a['llm.tokens.output'], read: a['llm.tokens.cache_read'], write: a['llm.tokens.cache_write'], cost: a['llm.cost.total'] }
}
const EXPECTED_SPAN = { input: 3010 + 500 + 2000, output: 160, read: 500, write: 2000, cost: COST }

t.test('streamed: every event byte for byte but the two additions; the final cumulative usage counted', async (t) => {
  upstream.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: sse })
  const answer = await postMessages(gateway.url, { ...request, stream: true })
  t.equal(answer.status, 200)
  t.equal(answer.events.length, events.length)
  answer.events.forEach((event, i) => {
    const sent = events[i]!
    const expected =
      sent.type === 'message_delta' ? { ...sent, usage: { ...finalUsage, cost_usd: COST } }
      : sent.type === 'message_stop' ? { ...sent, trace_context: headerIds(answer) }
      : sent
    t.equal(event.event, sent.type)
    t.equal(event.data, JSON.stringify(expected), `${String(sent.type)} #${i}`)
  })
  t.strictSame(await spanUsage(answer.headers.get('x-trace-id')), EXPECTED_SPAN, "message_delta's cumulative input wins over message_start's; 1-hour writes priced as such")
})

t.test('JSON: the Message byte for byte plus cost and trace_context', async (t) => {
  upstream.enqueue({ status: 200, json: message })
  const answer = await postMessages(gateway.url, request)
  t.equal(answer.text, JSON.stringify({ ...message, usage: { ...message.usage, cost_usd: COST }, trace_context: headerIds(answer) }))
  t.strictSame(await spanUsage(answer.headers.get('x-trace-id')), EXPECTED_SPAN)
})

t.test("the Anthropic SDK assembles the stream into the JSON answer's Message", async (t) => {
  const client = new Anthropic({ baseURL: gateway.url, apiKey: GATEWAY_KEY })
  upstream.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: sse })
  const final = await client.messages.stream(request as Anthropic.MessageStreamParams).finalMessage()
  t.strictSame(final.content, message.content, 'every block, the server tools, their results and the citations')
  t.match(final, { stop_reason: 'stop_sequence', stop_sequence: '###' })
  t.match(final.usage, finalUsage, "the final message_delta's usage")
})
