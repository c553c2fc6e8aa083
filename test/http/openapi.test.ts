// What the gateway answers on its OpenAI routes, validated against OpenAI's own OpenAPI document
// (test/fixtures/openai-openapi, see test/support/openapi.ts): a client generated from that
// document, or one as strict as it, must be able to read every answer. Real answers from the
// real gateway, over HTTP, for each kind of model behind it: the offline demo, an OpenAI model
// (passthrough: the emulator replays OpenAI's recordings), a Claude model (translated: it replays
// Anthropic's recordings) and, for /v1/responses, a chat-only OpenAI-compatible server
// (translated to chat completions: it replays OpenAI's chat recordings). Chat completions and
// their stream chunks, Responses (created, streamed, read back from the gateway's store),
// embeddings, the model list, and the error answers, streamed ones included.
//
// The gateway's own additions, `trace_context` beside an answer and `cost_usd` inside `usage`,
// stay in what is validated: OpenAI's schemas here allow properties they do not name.
//
// Passthrough answers are OpenAI's recorded bytes, some older than the schema (e.g.
// `ResponseUsage.input_tokens_details.cache_write_tokens`, required since July 2026): for those
// the test asks that the gateway add no violation of its own to what OpenAI sent.
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixtureNames, loadFixture } from '../support/fixtures.ts'
import { anthropicMessageToSse, jsonReply, openaiCompletionToSse, recordedAsStream, sseReply } from '../support/fixture-variants.ts'
import { startGateway } from '../support/gateway.ts'
import { addsNoViolation, conforms } from '../support/openapi.ts'
import { openaiStreamChunks, providerEnv, type Reply } from '../support/upstream.ts'
import { STARTUP_MS, startObservedGateway } from '../telemetry/helpers.ts'
import { call } from '../traces/helpers.ts'

type Json = Record<string, unknown>

t.setTimeout(600_000)

const dir = mkdtempSync(join(tmpdir(), 'gateway-openapi-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
// OpenAI and Anthropic sent to the emulator, and a chat-only server (`local/llama3.2`) there too.
const { gateway, upstream } = await startObservedGateway(t, (upstream) => {
  const config = join(dir, 'gateway.json')
  writeFileSync(config, JSON.stringify({ providers: { local: { baseURL: upstream.openaiBaseURL, models: ['llama3.2'] } } }))
  return { GATEWAY_CONFIG: config }
})
// The same upstreams behind gateway keys and a one-second first-byte timeout: 401s and 504s.
const GATEWAY_KEY = 'sk-gateway-openapi-test'
const keyed = await startGateway({
  timeoutMs: STARTUP_MS,
  env: { ...providerEnv(upstream), GATEWAY_API_KEYS: GATEWAY_KEY, HOST: '127.0.0.1', UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '1000' },
})
t.teardown(() => keyed.stop())
t.beforeEach(() => upstream.reset())

interface Answer {
  status: number
  /** The JSON body; undefined for a stream. */
  json: Json | undefined
  /** Every SSE event's JSON (chat's final `[DONE]` left out). */
  events: Json[]
}

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, base = gateway.url): Promise<Answer> {
  const answer = await call(`${base}${path}`, { method, body, headers })
  const streamed = (answer.headers.get('content-type') ?? '').includes('text/event-stream')
  return { status: answer.status, json: streamed ? undefined : answer.json, events: streamed ? jsonEvents(answer.text) : [] }
}

const jsonEvents = (sse: string) => openaiStreamChunks(sse) as unknown as Json[]

/** The body the emulator serves for a reply. */
function served(reply: Reply): string {
  return 'fixture' in reply ? loadFixture(reply.fixture).response.body : String((reply as { body?: string }).body)
}

/** An OpenAI route with the schemas of its answer and of its stream's events. */
interface Api {
  path: string
  answer: string
  event: string
  /** What turns a body into a streamed one. */
  streamed: Json
}
const CHAT: Api = { path: '/v1/chat/completions', answer: 'CreateChatCompletionResponse', event: 'CreateChatCompletionStreamResponse', streamed: { stream: true, stream_options: { include_usage: true } } }
/** A chat stream as sent without `stream_options` (no usage chunk asked for). */
const CHAT_NO_USAGE: Api = { ...CHAT, streamed: { stream: true } }
const RESPONSES: Api = { path: '/v1/responses', answer: 'Response', event: 'ResponseStreamEvent', streamed: { stream: true } }

interface UpstreamReplies {
  /** What the upstream answers the plain call (none for the demo); null: the stream only. */
  plain?: Reply | null
  /** What it answers the streamed call. */
  streamed?: Reply
  /** The gateway passes the upstream's answer on: it must add no violation to it (see the header). */
  passthrough?: boolean
}

/** `body` sent to `api` plain and streamed: the answer and every event valid against OpenAI's schemas. */
async function answersConform(t: Test, api: Api, body: Json, upstreamReplies: UpstreamReplies = {}): Promise<void> {
  const { plain: plainReply, streamed: streamReply, passthrough = false } = upstreamReplies
  if (plainReply !== null) {
    if (plainReply) upstream.enqueue(plainReply)
    const plain = await send('POST', api.path, body)
    t.equal(plain.status, 200, 'the answer: 200')
    if (passthrough && plainReply) addsNoViolation(t, api.answer, [plain.json], [JSON.parse(served(plainReply))], 'the answer')
    else conforms(t, api.answer, plain.json, 'the answer')
  }
  if (streamReply) upstream.enqueue(streamReply)
  const streamed = await send('POST', api.path, { ...body, ...api.streamed })
  t.equal(streamed.status, 200, 'the stream: 200')
  t.ok(streamed.events.length > 1, `${streamed.events.length} events`)
  if (passthrough && streamReply) addsNoViolation(t, api.event, streamed.events, jsonEvents(served(streamReply)), 'each event')
  else streamed.events.forEach((event, i) => conforms(t, api.event, event, `event ${i}${typeof event.type === 'string' ? ` (${event.type})` : ''}`))
}

const hi = [{ role: 'user', content: 'What is 6 * 7?' }]
const calculator = { type: 'function', function: { name: 'calculator', description: 'Evaluates arithmetic.', parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } } }
const calculatorTool = { type: 'function', name: 'calculator', description: 'Evaluates arithmetic.', parameters: calculator.function.parameters, strict: false }
const CLAUDE = 'claude-3-5-sonnet-20240620'
const CHAT_ONLY = 'local/llama3.2'

// ------------------------------------------------------------------------------ the demo

for (const [label, model, tools] of [
  ['demo-chat', 'demo-chat', false],
  ['demo-reasoner', 'demo-reasoner', false],
  ['demo-chat with a tool offered (a tool call)', 'demo-chat', true],
] as const) {
  t.test(`${label}: chat completion and its stream chunks`, async (t) => {
    await answersConform(t, CHAT, { model, messages: hi, ...(tools && { tools: [calculator] }) })
  })
  t.test(`${label}: response and its stream events`, async (t) => {
    await answersConform(t, RESPONSES, { model, input: 'What is 6 * 7?', ...(tools && { tools: [calculatorTool] }) })
  })
}

// ---------------------------------------------------------- an OpenAI model (passthrough)

/** The recorded request, streamed or not as the test asks. */
const recordedRequest = (name: string): Json => {
  const { stream: _stream, stream_options: _options, ...body } = JSON.parse(loadFixture(name).request.body) as Json
  return body
}
const succeeded = (prefix: string) => fixtureNames(prefix).filter((name) => loadFixture(name).meta.http_status === 200)
/** A recorded stream without usage has no JSON variant (its usage is unknown): it is replayed streamed only. */
const plainOf = (name: string) => (recordedAsStream(name) && loadFixture(name).meta.usage === null ? null : jsonReply(name))

for (const name of succeeded('openai-chat-')) {
  t.test(`${name}: chat completion and its stream chunks, passed through`, async (t) => {
    await answersConform(t, CHAT, recordedRequest(name), { plain: plainOf(name), streamed: sseReply(name), passthrough: true })
  })
}
for (const name of succeeded('openai-responses-')) {
  t.test(`${name}: response and its stream events, passed through`, async (t) => {
    await answersConform(t, RESPONSES, recordedRequest(name), { plain: plainOf(name), streamed: sseReply(name), passthrough: true })
  })
}

// ------------------------------- a Claude model and a chat-only server (translated)

for (const name of succeeded('anthropic-messages-')) {
  const tools = name.includes('tool-use')
  const replies = { plain: jsonReply(name), streamed: sseReply(name) }
  t.test(`${name}: chat completion and its stream chunks, translated`, async (t) => {
    await answersConform(t, CHAT, { model: CLAUDE, messages: hi, ...(tools && { tools: [calculator] }) }, replies)
  })
  t.test(`${name}: response and its stream events, translated`, async (t) => {
    await answersConform(t, RESPONSES, { model: CLAUDE, input: 'What is 6 * 7?', ...(tools && { tools: [calculatorTool] }) }, replies)
  })
}

for (const name of succeeded('openai-chat-')) {
  t.test(`${name}: response and its stream events from a chat-only server, translated`, async (t) => {
    await answersConform(t, RESPONSES, { model: CHAT_ONLY, input: 'What is 6 * 7?', tools: [calculatorTool] }, { plain: plainOf(name), streamed: sseReply(name) })
  })
}

t.test('chat streams without stream_options: demo, Claude, OpenAI', async (t) => {
  await answersConform(t, CHAT_NO_USAGE, { model: 'demo-reasoner', messages: hi }, { plain: null })
  await answersConform(t, CHAT_NO_USAGE, { model: CLAUDE, messages: hi }, { plain: null, streamed: sseReply('anthropic-messages-tool-use-stream') })
  const name = 'openai-chat-text-stream-no-usage'
  await answersConform(t, CHAT_NO_USAGE, recordedRequest(name), { plain: null, streamed: sseReply(name), passthrough: true })
})

// Every field of a request the Response echoes (instructions, tools, tool_choice, text.format,
// reasoning, sampling, metadata), with input items of each kind, and what Codex sends (custom,
// tool_search and web_search tools, include, text.verbosity): the gateway writes the echo itself
// for every model but OpenAI's.
const richRequest = {
  instructions: 'Answer briefly.',
  input: [
    { role: 'user', content: [{ type: 'input_text', text: 'What is 6 * 7?' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' }] },
    { type: 'function_call', call_id: 'call_1', name: 'calculator', arguments: '{"expression":"6 * 7"}' },
    { type: 'function_call_output', call_id: 'call_1', output: '42' },
    { type: 'message', role: 'user', content: 'Say it as JSON.' },
  ],
  tools: [calculatorTool],
  tool_choice: 'auto',
  parallel_tool_calls: true,
  text: { format: { type: 'json_schema', name: 'answer', strict: true, schema: { type: 'object', properties: { value: { type: 'number' } }, required: ['value'], additionalProperties: false } } },
  reasoning: { effort: 'low' },
  max_output_tokens: 400,
  temperature: 0.5,
  top_p: 0.9,
  metadata: { suite: 'openapi' },
  store: true,
}
const { stream: _stream, ...codex } = JSON.parse(readFileSync(new URL('../fixtures/clients/codex-request.json', import.meta.url), 'utf8')) as Json

for (const [label, request] of [
  ['every echoed field', richRequest],
  ["Codex's request", codex],
  ['cut short by max_output_tokens', { input: 'Tell me a long story.', max_output_tokens: 16 }],
] as const) {
  for (const [model, replies] of [
    ['demo-reasoner', {}],
    [CLAUDE, { plain: jsonReply('anthropic-messages-text-nonstream'), streamed: sseReply('anthropic-messages-text-stream') }],
    [CHAT_ONLY, { plain: jsonReply('openai-chat-text-nonstream'), streamed: sseReply('openai-chat-text-stream-include-usage') }],
  ] as const) {
    t.test(`${label}, to ${model}: Response and ResponseStreamEvent`, async (t) => {
      await answersConform(t, RESPONSES, { ...request, model }, replies)
    })
  }
}

// Claude's answers beyond the recordings: every stop reason (each must become one of OpenAI's
// finish reasons, or a Response status with its reason), a redacted thinking block, and a web
// search it ran itself (server_tool_use, web_search_tool_result, text with citations).
const recorded = JSON.parse(loadFixture('anthropic-messages-text-nonstream').response.body) as Json
const claudeSaid = (changes: Json): UpstreamReplies => {
  const message = { ...recorded, ...changes }
  return {
    plain: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) },
    streamed: { status: 200, headers: { 'content-type': 'text/event-stream' }, body: anthropicMessageToSse(message) },
  }
}
const claudeAnswers: Array<[string, Json]> = [
  ...['max_tokens', 'stop_sequence', 'pause_turn', 'refusal', 'model_context_window_exceeded'].map((reason): [string, Json] => [
    `stop_reason ${reason}`,
    { stop_reason: reason, stop_sequence: reason === 'stop_sequence' ? '###' : null },
  ]),
  ['a redacted thinking block', { content: [{ type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' }, ...(recorded.content as Json[])] }],
  [
    'a web search Claude ran',
    {
      content: [
        { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: { query: 'OpenTelemetry' } },
        { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_01', content: [{ type: 'web_search_result', url: 'https://opentelemetry.io/', title: 'OpenTelemetry', encrypted_content: 'Eq0B', page_age: null }] },
        { type: 'text', text: 'OpenTelemetry is an observability framework.', citations: [{ type: 'web_search_result_location', url: 'https://opentelemetry.io/', title: 'OpenTelemetry', encrypted_index: 'Eo8B', cited_text: 'OpenTelemetry is an observability framework' }] },
      ],
      usage: { ...(recorded.usage as Json), server_tool_use: { web_search_requests: 1 } },
    },
  ],
]
for (const [label, changes] of claudeAnswers) {
  t.test(`Claude answers with ${label}: chat completion and chunks, response and events`, async (t) => {
    await answersConform(t, CHAT, { model: CLAUDE, messages: hi }, claudeSaid(changes))
    await answersConform(t, RESPONSES, { model: CLAUDE, input: 'What is 6 * 7?', tools: [{ type: 'web_search' }] }, claudeSaid(changes))
  })
}

// A chat-only server's every finish reason, through /v1/responses.
const chatRecorded = JSON.parse(loadFixture('openai-chat-text-nonstream').response.body) as Json & { choices: Json[] }
for (const reason of ['length', 'content_filter']) {
  t.test(`a chat-only server stopping with ${reason}: response and events`, async (t) => {
    const completion = { ...chatRecorded, choices: [{ ...chatRecorded.choices[0], finish_reason: reason }] }
    await answersConform(t, RESPONSES, { model: CHAT_ONLY, input: 'What is 6 * 7?' }, {
      plain: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(completion) },
      streamed: { status: 200, headers: { 'content-type': 'text/event-stream' }, body: openaiCompletionToSse(completion) },
    })
  })
}

t.test('GET /v1/responses/{id} of a response the gateway keeps (demo, Claude, chat-only server): Response', async (t) => {
  const replies: Record<string, Reply | undefined> = {
    'demo-reasoner': undefined,
    [CLAUDE]: jsonReply('anthropic-messages-tool-use-nonstream'),
    [CHAT_ONLY]: jsonReply('openai-chat-tool-call-nonstream'),
  }
  for (const [model, reply] of Object.entries(replies)) {
    if (reply) upstream.enqueue(reply)
    const created = await send('POST', '/v1/responses', { model, input: 'What is 6 * 7?', tools: [calculatorTool] })
    t.equal(created.status, 200)
    const stored = await send('GET', `/v1/responses/${String(created.json?.id)}`)
    t.equal(stored.status, 200, `${model}: kept`)
    conforms(t, 'Response', stored.json, `${model}, read back`)
  }
})

// ------------------------------------------------------------- embeddings and the model list

// Floats only: OpenAI's document describes `embedding` as an array of numbers, although with
// `encoding_format: base64` (the SDK's default) OpenAI answers a string, and so does the gateway.
t.test('POST /v1/embeddings: CreateEmbeddingResponse', async (t) => {
  upstream.enqueueFor('POST /v1/embeddings', { embeddings: true })
  const answer = await send('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: ['one', 'two'], encoding_format: 'float' })
  t.equal(answer.status, 200)
  conforms(t, 'CreateEmbeddingResponse', answer.json, 'two vectors')
})

t.test('GET /v1/models: ListModelsResponse; GET /v1/models/{id}: Model, for every model listed', async (t) => {
  const list = await send('GET', '/v1/models')
  conforms(t, 'ListModelsResponse', list.json, 'the list')
  const ids = ((list.json?.data ?? []) as Json[]).map((m) => String(m.id))
  t.ok(ids.length > 1, `${ids.length} models`)
  for (const id of ids) conforms(t, 'Model', (await send('GET', `/v1/models/${encodeURIComponent(id)}`)).json, id)
})

// ------------------------------------------------------------------------------ errors

t.test('error answers: ErrorResponse', async (t) => {
  const cases: Array<[string, () => Promise<Answer>, number]> = [
    ['chat, a body that is not JSON', () => send('POST', '/v1/chat/completions', '{"model":'), 400],
    ['chat, no messages', () => send('POST', '/v1/chat/completions', { model: 'demo-chat' }), 400],
    ['responses, input of the wrong type', () => send('POST', '/v1/responses', { model: 'demo-chat', input: 42 }), 400],
    ['embeddings, no input', () => send('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small' }), 400],
    ['embeddings, a model without embeddings', () => send('POST', '/v1/embeddings', { model: CLAUDE, input: 'one' }), 400],
    ['chat, an unknown model', () => send('POST', '/v1/chat/completions', { model: 'no-such-model', messages: hi }), 404],
    ['responses, an unknown model', () => send('POST', '/v1/responses', { model: 'no-such-model', input: 'hi' }), 404],
    ['models, an unknown id', () => send('GET', '/v1/models/no-such-model'), 404],
    ['chat, no key where keys are required', () => send('POST', '/v1/chat/completions', { model: 'demo-chat', messages: hi }, {}, keyed.url), 401],
    ['responses, a wrong key', () => send('POST', '/v1/responses', { model: 'demo-chat', input: 'hi' }, { authorization: 'Bearer nope' }, keyed.url), 401],
    ['models, no key', () => send('GET', '/v1/models', undefined, {}, keyed.url), 401],
    ['chat, asked with GET', () => send('GET', '/v1/chat/completions'), 405],
    ['models, asked with DELETE', () => send('DELETE', '/v1/models'), 405],
    ['chat, a body that is not JSON by its content-type', () => send('POST', '/v1/chat/completions', 'hi', { 'content-type': 'text/plain' }), 415],
    ['responses, an unknown previous_response_id', () => send('POST', '/v1/responses', { model: CLAUDE, input: 'hi', previous_response_id: 'resp_nope' }), 404],
  ]
  for (const [what, ask, status] of cases) {
    const answer = await ask()
    t.equal(answer.status, status, `${what}: ${status}`)
    conforms(t, 'ErrorResponse', answer.json, what)
  }
})

t.test('upstream failures (502, 503, 504, a 429 passed on): ErrorResponse, and in a stream the error event of each API', async (t) => {
  const failures: Array<[string, Reply]> = [
    ['OpenAI answers 500', { status: 500, json: { error: { message: 'boom', type: 'server_error', param: null, code: null } } }],
    ["OpenAI refuses the gateway's key", { fixture: 'openai-chat-error-401-invalid-api-key' }],
    ['the connection resets', { resetBeforeHeaders: true }],
  ]
  for (const [what, reply] of failures) {
    upstream.enqueue(reply)
    const chat = await send('POST', '/v1/chat/completions', { model: 'gpt-4.1-nano', messages: hi })
    t.equal(chat.status, 502, `chat, ${what}: 502`)
    conforms(t, 'ErrorResponse', chat.json, `chat, ${what}`)
    upstream.enqueue(reply)
    const responses = await send('POST', '/v1/responses', { model: 'gpt-4.1-nano', input: 'hi' })
    t.equal(responses.status, 502, `responses, ${what}: 502`)
    conforms(t, 'ErrorResponse', responses.json, `responses, ${what}`)
  }
  const rateLimited: Reply = { status: 429, headers: { 'retry-after': '7' }, json: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } } }
  upstream.enqueue(rateLimited)
  const limited = await send('POST', '/v1/chat/completions', { model: 'gpt-4.1-nano', messages: hi })
  t.equal(limited.status, 429, 'chat, OpenAI rate-limits: 429')
  conforms(t, 'ErrorResponse', limited.json, 'chat, OpenAI rate-limits')
  const auth = { authorization: `Bearer ${GATEWAY_KEY}` }
  for (const [path, body] of [
    ['/v1/chat/completions', { model: 'gpt-4.1-nano', messages: hi }],
    ['/v1/responses', { model: CLAUDE, input: 'hi' }],
  ] as const) {
    upstream.enqueue({ hang: true })
    const late = await send('POST', path, body, auth, keyed.url)
    t.equal(late.status, 504, `${path}, no first byte in time: 504`)
    conforms(t, 'ErrorResponse', late.json, `${path}, no first byte in time`)
  }
  const claudeOverloaded: Reply = { status: 529, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }
  upstream.enqueue(claudeOverloaded)
  const claude = await send('POST', '/v1/responses', { model: CLAUDE, input: 'hi' })
  t.equal(claude.status, 503, 'responses to Claude, overloaded: 503')
  conforms(t, 'ErrorResponse', claude.json, 'responses to Claude, overloaded')

  // Cut mid-stream, after half the recorded bytes (some events reach the caller first): the chat
  // stream ends with an error chunk in OpenAI's error shape, the Responses stream with its typed
  // failure events.
  const cut = (name: string): Reply => ({ fixture: name, resetAfterBytes: Math.floor(loadFixture(name).response.body.length / 2) })
  for (const [model, name] of [
    ['gpt-4.1-nano', 'openai-chat-text-stream-include-usage'],
    [CLAUDE, 'anthropic-messages-text-stream'],
  ] as const) {
    upstream.enqueue(cut(name))
    const chat = await send('POST', '/v1/chat/completions', { model, messages: hi, stream: true })
    const last = chat.events.at(-1)
    t.ok(last && 'error' in last, `${model}: the chat stream ends with an error`)
    conforms(t, 'ErrorResponse', last, `${model}: the chat stream's error`)
  }
  upstream.enqueue(cut('openai-responses-text-stream'))
  const passed = await send('POST', '/v1/responses', { model: 'gpt-4.1-nano', input: 'hi', stream: true })
  t.ok(passed.events.some((e) => e.type === 'error' || e.type === 'response.failed'), 'OpenAI: the stream says it failed')
  addsNoViolation(t, 'ResponseStreamEvent', passed.events, jsonEvents(served({ fixture: 'openai-responses-text-stream' })), 'OpenAI, each event')
  upstream.enqueue(cut('anthropic-messages-text-stream'))
  const translated = await send('POST', '/v1/responses', { model: CLAUDE, input: 'hi', stream: true })
  t.ok(translated.events.some((e) => e.type === 'error' || e.type === 'response.failed'), 'Claude: the stream says it failed')
  translated.events.forEach((event, i) => conforms(t, 'ResponseStreamEvent', event, `Claude, event ${i} (${String(event.type)})`))
})
