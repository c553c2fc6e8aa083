// POST /v1/responses to providers without a Responses API: Claude (translated to the Messages API)
// and a chat-only OpenAI-compatible server (translated to chat completions), with the official
// `openai` client. Every recorded Anthropic exchange comes back with the usage the chat route
// reports for it (itself checked against the recordings in test/usage/fixtures.test.ts), streamed
// and not; a conversation continues with previous_response_id from the gateway's own store; what
// Codex sends reaches Claude and a chat server with what has no equivalent left out and said so;
// and POST /v1/embeddings goes through the same dispatch.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI, { APIError } from 'openai'
import type { Response as OpenAIResponse } from 'openai/resources/responses/responses'
import { fixtureNames } from '../support/fixtures.ts'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import { startObservedGateway, WAIT_MS } from '../telemetry/helpers.ts'

type Json = Record<string, unknown>

t.setTimeout(240_000)

const dir = mkdtempSync(join(tmpdir(), 'gateway-responses-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const { gateway, receiver, upstream } = await startObservedGateway(t, (upstream) => {
  const configPath = join(dir, 'gateway.json')
  writeFileSync(configPath, JSON.stringify({ providers: { local: { baseURL: upstream.openaiBaseURL, models: ['llama3.2'] } } }))
  return { GATEWAY_CONFIG: configPath }
})
t.beforeEach(() => upstream.reset())
const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused' })

const codex = JSON.parse(readFileSync(new URL('../fixtures/clients/codex-request.json', import.meta.url), 'utf8')) as Json
const bodyOf = (i: number) => upstream.requests[i]!.body as Json
const usageOf = (response: { usage?: unknown }) => response.usage as Json & { cost_usd?: number; input_tokens_details: Json; output_tokens_details: Json }

t.test('every recorded Anthropic answer, through /v1/responses: the usage and cost the chat route reports for it, streamed and not', async (t) => {
  const names = fixtureNames('anthropic-messages-').filter((name) => !name.includes('-error-'))
  t.ok(names.length >= 10, `${names.length} recordings`)
  for (const name of names) {
    upstream.enqueue(jsonReply(name))
    const chat = await client.chat.completions.create({ model: 'claude-3-5-sonnet-20240620', messages: [{ role: 'user', content: 'hi' }] })
    const reference = chat.usage as unknown as Json & { prompt_tokens_details: Json; cost_usd?: number }

    upstream.enqueue(jsonReply(name))
    const plain = await client.responses.create({ model: 'claude-3-5-sonnet-20240620', input: 'hi' })
    upstream.enqueue(sseReply(name))
    let streamed: OpenAIResponse | undefined
    for await (const event of await client.responses.create({ model: 'claude-3-5-sonnet-20240620', input: 'hi', stream: true })) {
      if (event.type === 'response.completed' || event.type === 'response.incomplete') streamed = event.response
    }
    const usage = usageOf(plain)
    t.equal(usage.input_tokens, reference.prompt_tokens, `${name}: input_tokens = the chat route's prompt_tokens (cache reads and writes included)`)
    t.equal(usage.input_tokens_details.cached_tokens, reference.prompt_tokens_details.cached_tokens, `${name}: cached_tokens`)
    t.equal(usage.output_tokens, reference.completion_tokens, `${name}: output_tokens`)
    t.equal(usage.total_tokens, reference.total_tokens, `${name}: total_tokens`)
    t.equal(usage.cost_usd, reference.cost_usd, `${name}: cost_usd`)
    t.same(usageOf(streamed!), usage, `${name}: streamed usage = non-streamed usage`)
    t.equal(bodyOf(1).model, 'claude-3-5-sonnet-20240620')
    t.ok(Array.isArray(bodyOf(1).messages), `${name}: Anthropic got a Messages request`)
    upstream.reset()
  }
})

t.test('a conversation continues with previous_response_id from the store; GET and DELETE work on it; store: false keeps nothing', async (t) => {
  upstream.setDefault({ fixture: 'anthropic-messages-text-nonstream' })
  const first = await client.responses.create({ model: 'claude-3-opus-20240229', instructions: 'Be brief.', input: 'Name a colour.' })
  const second = await client.responses.create({ model: 'claude-3-opus-20240229', input: 'And another?', previous_response_id: first.id })
  t.equal(second.previous_response_id, first.id, 'the answer names the response it continues')
  const sent = bodyOf(1)
  t.same(
    (sent.messages as Json[]).map((m) => m.role),
    ['user', 'assistant', 'user'],
    'Claude got the earlier turn, its answer and the new question',
  )
  t.match(JSON.stringify(sent.messages), /Name a colour\..*And another\?/s)

  const fetched = await client.responses.retrieve(second.id)
  t.equal(fetched.id, second.id, 'GET /v1/responses/{id} answers from the store')
  t.equal(fetched.output_text, second.output_text)
  // OpenAI is configured too: ids the gateway does not hold are asked of it, and it knows none of these.
  const openAINotFound = { status: 404, json: { error: { message: "Response with id 'x' not found.", type: 'invalid_request_error', param: null, code: null } } }
  upstream.enqueueFor('GET /v1/responses/{id}', openAINotFound, openAINotFound)
  const deleted = await fetch(`${gateway.url}/v1/responses/${second.id}`, { method: 'DELETE' })
  t.same(await deleted.json(), { id: second.id, object: 'response', deleted: true })
  const gone = await client.responses.retrieve(second.id).catch((error: unknown) => error)
  t.ok(gone instanceof APIError && gone.status === 404, 'a deleted response is a 404')
  t.equal(upstream.requests.filter((r) => r.method === 'GET').length, 1, 'only the id the gateway no longer held was asked of OpenAI')

  const unstored = await client.responses.create({ model: 'claude-3-opus-20240229', input: 'hi', store: false })
  const missing = await client.responses.retrieve(unstored.id).catch((error: unknown) => error)
  t.ok(missing instanceof APIError && missing.status === 404, 'store: false keeps nothing')

  const unknown = await client.responses.create({ model: 'claude-3-opus-20240229', input: 'hi', previous_response_id: 'resp_nope' }).catch((error: unknown) => error)
  t.ok(unknown instanceof APIError, 'an unknown previous_response_id is refused')
  const refused = unknown as APIError
  t.equal(refused.status, 404)
  t.match(refused.error, { param: 'previous_response_id', code: 'previous_response_not_found' }, "in OpenAI's error shape naming the field")
  t.equal(upstream.requests.filter((r) => r.method === 'POST').length, 3, 'and never reaches the upstream')

  const output = first.output[0] as { id: string; type: string }
  const referenced = await client.responses.create({
    model: 'claude-3-opus-20240229',
    input: [{ role: 'user', content: 'Name a colour.' }, { type: 'item_reference', id: output.id }, { role: 'user', content: 'Another?' }],
  })
  t.ok(referenced.id, 'an item_reference to an item of a kept response is resolved')
  t.match(JSON.stringify(bodyOf(upstream.requests.length - 1).messages), new RegExp(`"assistant".*${JSON.stringify(first.output_text.slice(0, 20)).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 's'), "and Claude got that earlier answer as the assistant's turn")
  const dangling = await client.responses.create({ model: 'claude-3-opus-20240229', input: [{ type: 'item_reference', id: 'msg_nope' }] }).catch((error: unknown) => error)
  t.ok(dangling instanceof APIError && dangling.status === 404, 'an unknown item_reference is a 404')
  t.match((dangling as APIError).error, { param: 'input[0]', code: 'item_not_found' })
})

t.test("Codex's request to Claude: its tools mapped, web search becomes Anthropic's, what has no equivalent is left out and said so", async (t) => {
  upstream.enqueue(sseReply('anthropic-messages-text-stream'))
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ ...codex, model: 'claude-sonnet-4-5' }),
  })
  t.equal(response.status, 200)
  const text = await response.text()
  t.match(text, /event: response\.completed/, 'the stream completes')
  const omitted = response.headers.get('x-gateway-omitted')?.split(', ').sort()
  t.same(omitted, ['text.verbosity', 'tools.tool_search'], 'the response header names what was left out')
  const tools = bodyOf(0).tools as Json[]
  t.ok(tools.some((tool) => tool.type === 'web_search_20250305' && tool.name === 'web_search'), "web search is Anthropic's web search tool")
  t.ok(tools.some((tool) => tool.name === 'apply_patch'), 'the custom (grammar) tool is a function')
  const [span] = await receiver.waitForSpans((s) => s.traceId === response.headers.get('x-trace-id') && s.name === 'llm.request', 1, WAIT_MS)
  t.same([...((span!.attributes['llm.request.omitted'] as string[]) ?? [])].sort(), omitted, 'and so does the llm.request span')
})

t.test("Codex's request to a chat-only server: hosted tools left out, the call served", async (t) => {
  upstream.enqueue(sseReply('openai-chat-tool-call-stream-include-usage'))
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...codex, model: 'local/llama3.2' }),
  })
  t.equal(response.status, 200)
  await response.text()
  t.equal(upstream.requests[0]!.path, '/v1/chat/completions', 'the server was asked for a chat completion')
  t.same(response.headers.get('x-gateway-omitted')?.split(', ').sort(), ['text.verbosity', 'tools.tool_search', 'tools.web_search'])
})

t.test("Codex's request to OpenAI passes through unchanged but for the model", async (t) => {
  upstream.enqueue(sseReply('openai-responses-text-stream'))
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...codex, model: 'openai/gpt-4.1-nano' }),
  })
  t.equal(response.status, 200)
  await response.text()
  t.equal(upstream.requests[0]!.path, '/v1/responses')
  t.same(bodyOf(0), { ...codex, model: 'gpt-4.1-nano' })
  t.equal(response.headers.get('x-gateway-omitted'), null, 'nothing left out')
})

t.test('POST /v1/embeddings: passed to OpenAI, input tokens metered, one llm.request with operation embeddings', async (t) => {
  upstream.enqueueFor('POST /v1/embeddings', { embeddings: true })
  const raw = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['one', 'two'] }).withResponse()
  t.equal(raw.data.data.length, 2, 'two vectors')
  t.ok(raw.data.usage.prompt_tokens > 0, 'usage as OpenAI reports it')
  t.equal(upstream.requests[0]!.path, '/v1/embeddings')
  const traceId = raw.response.headers.get('x-trace-id')
  const [span] = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.request', 1, WAIT_MS)
  t.equal(span!.attributes['gen_ai.operation.name'], 'embeddings')
  t.equal(span!.attributes['gen_ai.usage.input_tokens'], raw.data.usage.prompt_tokens, 'input tokens metered')
  const [attempt] = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.openai.embeddings', 1, WAIT_MS)
  t.equal(attempt!.parentSpanId, span!.spanId)

  const refused = await client.embeddings.create({ model: 'claude-3-5-sonnet-20240620', input: 'one' }).catch((error: unknown) => error)
  t.ok(refused instanceof APIError && refused.status === 400, 'a provider without embeddings is a 400')
  t.match((refused as APIError).message, /claude-3-5-sonnet-20240620/, 'naming the model')
  t.equal(upstream.requests.length, 1, 'and nothing went upstream')
})

t.test('GET and DELETE /v1/responses/{id} of a response OpenAI keeps: passed to OpenAI, answered as it came', async (t) => {
  const stored = { id: 'resp_openai_1', object: 'response', status: 'completed', output: [], model: 'gpt-4.1-nano' }
  upstream.enqueueFor('GET /v1/responses/{id}', { status: 200, json: stored })
  upstream.enqueueFor('DELETE /v1/responses/{id}', { status: 200, json: { id: 'resp_openai_1', object: 'response', deleted: true } })
  const got = await fetch(`${gateway.url}/v1/responses/resp_openai_1`)
  t.equal(got.status, 200)
  t.same(await got.json(), stored)
  const deleted = await fetch(`${gateway.url}/v1/responses/resp_openai_1`, { method: 'DELETE' })
  t.same(await deleted.json(), { id: 'resp_openai_1', object: 'response', deleted: true })
  t.same(upstream.requests.map((r) => `${r.method} ${r.path}`), ['GET /v1/responses/resp_openai_1', 'DELETE /v1/responses/resp_openai_1'])
  t.equal(upstream.requests[0]!.headers.authorization, 'Bearer sk-test-openai', "with the gateway's OpenAI key, not the caller's")
  // Each upstream request's span is its request's child, in the trace the answer names.
  for (const [answer, method] of [[got, 'GET'], [deleted, 'DELETE']] as const) {
    const traceId = answer.headers.get('x-trace-id')
    const [server] = await receiver.waitForSpans((s) => s.traceId === traceId && s.kind === 'SERVER', 1, WAIT_MS)
    const [client] = await receiver.waitForSpans((s) => s.traceId === traceId && s.kind === 'CLIENT' && s.name === method, 1, WAIT_MS)
    t.equal(client!.parentSpanId, server!.spanId, `the ${method} span under the SERVER span`)
  }
})
