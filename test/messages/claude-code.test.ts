// Claude Code pointed at the gateway (ANTHROPIC_BASE_URL): requests shaped exactly like the ones it
// sends (test/fixtures/clients/claude-code-request*.json, captured from Claude Code 2.1.332): POST
// /v1/messages?beta=true, `accept: application/json` while asking `stream: true`, the long
// `anthropic-beta` list, `x-app: cli`, the gateway key in x-api-key (ANTHROPIC_API_KEY) or a
// bearer token (ANTHROPIC_AUTH_TOKEN). To Anthropic the request passes through whole (system blocks
// with cache_control, tools with defer_loading, adaptive thinking, context_management,
// output_config, metadata.user_id, the role "system" message), the cache tokens are counted and
// the user id is on the span. To an OpenAI model (an alias for Claude Code's own model name) it is
// translated, never refused: what has no equivalent is named in x-gateway-omitted.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { startObservedGateway, WAIT_MS } from '../telemetry/helpers.ts'
import { eventsOf, GATEWAY_KEY, headerIds, postMessages, type Json, type MessagesAnswer } from './helpers.ts'

t.setTimeout(180_000)

const clients = new URL('../fixtures/clients/', import.meta.url)
const read = (file: string) => JSON.parse(readFileSync(new URL(file, clients), 'utf8')) as Json
const DEFAULT = read('claude-code-request.json')
const HAIKU = read('claude-code-request.haiku.json')
const captured = read('claude-code-request.headers.json') as { url: string; headers: Record<string, string>; bearer_variant_headers: Record<string, string> }

/** Claude Code's headers with the gateway key, less what fetch sets itself (host, length, connection). */
function claudeCodeHeaders(variant: 'headers' | 'bearer_variant_headers' = 'headers'): Record<string, string> {
  const { host: _host, 'content-length': _length, connection: _connection, ...headers } = captured[variant]
  if ('x-api-key' in headers) headers['x-api-key'] = GATEWAY_KEY
  if ('authorization' in headers) headers.authorization = `Bearer ${GATEWAY_KEY}`
  return headers
}

/** Claude Code's own model name, mapped to an OpenAI model by the operator. */
const ALIASED = 'claude-sonnet-4-5-20250929'

const dir = mkdtempSync(join(tmpdir(), 'gateway-claude-code-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const { gateway, receiver, upstream } = await startObservedGateway(t, () => {
  const path = join(dir, 'gateway.json')
  // Anthropic's `-latest` names are not in the price table: the README's price override for one.
  const prices = { 'anthropic/claude-3-5-haiku-latest': { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 } }
  writeFileSync(path, JSON.stringify({ aliases: { [ALIASED]: 'openai/gpt-4o-mini' }, prices }))
  return { GATEWAY_API_KEYS: GATEWAY_KEY, GATEWAY_CONFIG: path }
})
t.beforeEach(() => upstream.reset())

const post = (body: Json, headers = claudeCodeHeaders()) => postMessages(gateway.url, body, headers, captured.url)

async function requestSpan(answer: MessagesAnswer) {
  const traceId = answer.headers.get('x-trace-id')
  const [span] = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.request', 1, WAIT_MS)
  return span!
}

async function metrics(labels: Record<string, string>): Promise<Record<string, number>> {
  const text = await scrapeMetrics(gateway.url, GATEWAY_KEY)
  const names = ['llm_requests_total', 'llm_tokens_input_total', 'llm_cache_read_tokens_total', 'llm_cache_write_tokens_total']
  return Object.fromEntries(names.map((name) => [name, metricSum(text, name, labels)]))
}

t.test('the captured request is what the issue says Claude Code sends', async (t) => {
  t.equal(captured.url, '/v1/messages?beta=true')
  t.equal(captured.headers.accept, 'application/json', 'it accepts JSON…')
  t.equal(DEFAULT.stream, true, '…and asks for a stream')
  t.match(DEFAULT, {
    thinking: { type: 'adaptive' },
    context_management: Object,
    output_config: { effort: String },
    metadata: { user_id: String },
    system: [Object, { cache_control: { type: 'ephemeral' } }, { cache_control: { type: 'ephemeral' } }],
  })
  t.ok((DEFAULT.tools as Json[]).some((tool) => tool.defer_loading === true), 'a tool with defer_loading')
  t.ok((DEFAULT.messages as Json[]).some((message) => message.role === 'system'), 'a role "system" message inside messages')
})

for (const [label, request, recording, cache] of [
  ['default model', DEFAULT, 'anthropic-messages-cache-write-stream', { read: 0, write: 1165, input: 4 }],
  ['--model claude-3-5-haiku-latest', HAIKU, 'anthropic-messages-cache-read-nonstream', { read: 1163, write: 0, input: 4 }],
] as const) {
  t.test(`to Anthropic (${label}): Claude Code's request passes through whole, cache tokens counted, the user id on the span`, async (t) => {
    upstream.enqueue(sseReply(recording))
    const labels = { llm_provider: 'anthropic', llm_model: String(request.model) }
    const before = await metrics(labels)
    const answer = await post(request)
    t.equal(answer.status, 200)
    t.match(answer.headers.get('content-type'), /^text\/event-stream/, 'a stream, as stream: true asks (whatever accept says)')
    t.equal(answer.events[0]?.event, 'message_start')
    t.equal(answer.events.at(-1)?.event, 'message_stop')
    const [start] = eventsOf(answer, 'message_start') as [{ message: { usage: Json } }]
    t.match(start.message.usage, { input_tokens: cache.input, cache_read_input_tokens: cache.read, cache_creation_input_tokens: cache.write }, 'message_start carries the real numbers')
    t.match(eventsOf(answer, 'message_stop')[0], { trace_context: headerIds(answer) })

    const [sent] = await upstream.waitForRequests(1)
    t.equal(sent!.method, 'POST')
    t.match(sent!.path, /^\/v1\/messages(\?|$)/)
    t.equal(sent!.rawBody, JSON.stringify(request), "the body that reached Anthropic is Claude Code's, byte for byte (its model routes as is)")
    t.equal(sent!.headers['anthropic-beta'], captured.headers['anthropic-beta'], 'the anthropic-beta list passed on')
    t.equal(sent!.headers['anthropic-version'], captured.headers['anthropic-version'])
    t.equal(sent!.headers['x-api-key'], 'sk-ant-test', "the gateway's Anthropic key")
    t.notOk(JSON.stringify(sent!.headers).includes(GATEWAY_KEY), "Claude Code's key (the gateway key) is not forwarded")

    const span = await requestSpan(answer)
    t.equal(span.attributes['user.id'], (request.metadata as Json).user_id, "metadata.user_id (Claude Code's JSON user id) as user.id")
    t.match(span.attributes, {
      'llm.api': 'messages',
      'llm.provider': 'anthropic',
      'llm.model': request.model,
      'llm.streaming': true,
      'llm.tokens.cache_read': cache.read,
      'llm.tokens.cache_write': cache.write,
      'gen_ai.usage.cache_read.input_tokens': cache.read,
      'gen_ai.usage.cache_creation.input_tokens': cache.write,
      'gen_ai.usage.input_tokens': cache.input + cache.read + cache.write,
    })
    const after = await metrics(labels)
    t.strictSame(
      {
        requests: after.llm_requests_total! - before.llm_requests_total!,
        input: after.llm_tokens_input_total! - before.llm_tokens_input_total!,
        read: after.llm_cache_read_tokens_total! - before.llm_cache_read_tokens_total!,
        write: after.llm_cache_write_tokens_total! - before.llm_cache_write_tokens_total!,
      },
      { requests: 1, input: cache.input + cache.read + cache.write, read: cache.read, write: cache.write },
      "the guide's metrics count the call and its cache tokens under Claude Code's model",
    )
  })
}

t.test('ANTHROPIC_AUTH_TOKEN: the same request with the gateway key as a bearer token', async (t) => {
  upstream.enqueue(sseReply('anthropic-messages-text-stream'))
  const headers = claudeCodeHeaders('bearer_variant_headers')
  t.notOk('x-api-key' in headers)
  const answer = await post(DEFAULT, headers)
  t.equal(answer.status, 200)
  const [sent] = await upstream.waitForRequests(1)
  t.equal(sent!.headers.authorization, undefined, 'no Authorization goes to Anthropic')
  t.equal(sent!.headers['x-api-key'], 'sk-ant-test')
  const wrong = await post(DEFAULT, { ...headers, authorization: 'Bearer not-a-gateway-key' })
  t.equal(wrong.status, 401)
  t.match(wrong.json, { type: 'error', error: { type: 'authentication_error' } })
})

t.test('not streamed (Claude Code asks so for its small side requests): a JSON Message', async (t) => {
  upstream.enqueue(jsonReply('anthropic-messages-cache-read-nonstream'))
  const { stream: _stream, ...body } = HAIKU
  const answer = await post(body)
  t.equal(answer.status, 200)
  // claude-3-5-haiku-latest, priced by the override: 4 × 0.8 + 1163 × 0.08 + 202 × 4 = 904.24 µ$
  t.match(answer.json, { type: 'message', usage: { cache_read_input_tokens: 1163, cost_usd: 0.00090424 }, trace_context: headerIds(answer) })
  const [sent] = await upstream.waitForRequests(1)
  t.equal(sent!.rawBody, JSON.stringify(body))
})

t.test(`an alias sends Claude Code's own model name (${ALIASED}) to OpenAI: translated, never a 400`, async (t) => {
  upstream.enqueue(sseReply('openai-chat-text-stream-include-usage'))
  const answer = await post({ ...DEFAULT, model: ALIASED })
  t.equal(answer.status, 200, JSON.stringify(answer.json))
  t.match(answer.headers.get('content-type'), /^text\/event-stream/)
  const omitted = (answer.headers.get('x-gateway-omitted') ?? '').split(', ').map(decodeURIComponent).sort()
  t.strictSame(omitted, ['context_management', 'output_config.effort', 'thinking'], 'what gpt-4o-mini cannot take is named, nothing else')
  t.equal(answer.events[0]?.event, 'message_start')
  t.equal(answer.events.at(-1)?.event, 'message_stop')
  const deltas = eventsOf(answer, 'message_delta')
  const usage = deltas.at(-1)?.usage as Json
  t.match(usage, { input_tokens: 23, output_tokens: 8 }, "the final message_delta carries OpenAI's real counts, input_tokens included")

  const [sent] = await upstream.waitForRequests(1)
  t.equal(sent!.path, '/v1/chat/completions', 'OpenAI Chat Completions')
  t.notOk(JSON.stringify(sent!.headers).includes(GATEWAY_KEY), 'the caller key is not forwarded')
  const chat = sent!.body as { model: string; messages: { role: string; content: unknown }[]; tools?: unknown[]; stream?: boolean }
  t.equal(chat.model, 'gpt-4o-mini', 'the alias resolved')
  t.equal(chat.stream, true)
  t.equal(chat.tools?.length, (DEFAULT.tools as unknown[]).length, 'every tool offered (defer_loading ignored)')
  t.strictSame(
    chat.messages.map((m) => m.role),
    ['system', 'user', 'system'],
    "the system blocks first, then the conversation with Claude Code's system message where it stood",
  )
  t.notOk(sent!.rawBody.includes('cache_control'), 'cache_control left out silently')
  t.notOk(sent!.rawBody.includes('context_management'))

  const span = await requestSpan(answer)
  t.strictSame([...(span.attributes['llm.request.omitted'] as string[])].sort(), omitted, 'the same parts on the span')
  t.match(span.attributes, {
    'llm.provider': 'openai',
    'llm.model': 'gpt-4o-mini',
    'gen_ai.request.model': ALIASED,
    'user.id': (DEFAULT.metadata as Json).user_id,
  })
  t.match(span.attributes, { 'gen_ai.usage.input_tokens': 23, 'gen_ai.usage.output_tokens': 8 }, "OpenAI's recorded usage (23 in, 8 out)")
})

t.test('to a reasoning OpenAI model (openai/gpt-5-nano): adaptive thinking and effort become reasoning_effort', async (t) => {
  upstream.enqueue(sseReply('openai-chat-reasoning-tokens-nonstream'))
  const answer = await post({ ...DEFAULT, model: 'openai/gpt-5-nano' })
  t.equal(answer.status, 200, JSON.stringify(answer.json))
  t.equal(answer.headers.get('x-gateway-omitted'), 'context_management', 'only what no chat server can act on is left out')
  const [sent] = await upstream.waitForRequests(1)
  t.match(sent!.body, { model: 'gpt-5-nano', reasoning_effort: 'medium' }, "Claude Code's output_config.effort")
  t.match(eventsOf(answer, 'message_delta').at(-1)?.usage, { input_tokens: 11, output_tokens: 138 }, 'the real counts in the final message_delta')
})

t.test("Claude Code's haiku request to openai/gpt-4o-mini: nothing to leave out, no x-gateway-omitted", async (t) => {
  upstream.enqueue(sseReply('openai-chat-text-stream-include-usage'))
  const answer = await post({ ...HAIKU, model: 'openai/gpt-4o-mini' })
  t.equal(answer.status, 200, JSON.stringify(answer.json))
  t.equal(answer.headers.get('x-gateway-omitted'), null, 'cache_control is dropped silently, not reported as lost')
  const [sent] = await upstream.waitForRequests(1)
  const chat = sent!.body as { messages: { role: string; content: unknown }[]; tools: unknown[] }
  t.strictSame(chat.messages.map((m) => m.role), ['system', 'user'])
  t.equal(chat.tools.length, (HAIKU.tools as unknown[]).length)
  const span = await requestSpan(answer)
  t.notOk('llm.request.omitted' in span.attributes)
})
