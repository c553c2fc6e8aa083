// SPEC §1 "Errors" and §4: malformed input of any kind is a 4xx that names the problem, in
// OpenAI's error shape with trace_context, never a 5xx and never a crash. And what a valid body
// becomes upstream: unknown fields pass through; streams always ask for usage.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { openaiStreamChunks, providerEnv, startUpstream } from '../support/upstream.ts'
import { expectError, type ExpectedError } from './error-shape.ts'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(240_000)

const upstream = await startUpstream()
const [gateway, keyless, both] = await Promise.all([
  startGateway({ timeoutMs: 90_000, env: { OPENAI_API_KEY: 'sk-test-x', OPENAI_BASE_URL: upstream.openaiBaseURL, BODY_LIMIT_BYTES: '4096' } }),
  startGateway({ timeoutMs: 90_000 }),
  // Every translator: the demo, OpenAI passthrough and Claude, both upstreams emulated.
  startGateway({ timeoutMs: 90_000, env: providerEnv(upstream) }),
])
t.teardown(async () => {
  await Promise.all([gateway.stop(), keyless.stop(), both.stop()])
  await upstream.close()
})
t.beforeEach(() => upstream.reset())

const CHAT = '/v1/chat/completions'
const user = [{ role: 'user', content: 'hi' }]
const valid = { model: 'gpt-4o-mini', messages: user }

function send(body: string | undefined, headers: Record<string, string> = { 'content-type': 'application/json' }, base = gateway.url) {
  return fetch(`${base}${CHAT}`, { method: 'POST', headers, body })
}
const json = (value: unknown) => send(JSON.stringify(value))

const invalid = (param: string | null, message: RegExp): ExpectedError => ({
  status: 400,
  type: 'invalid_request_error',
  param,
  message,
})

const cases: Array<[string, () => Promise<Response>, ExpectedError]> = [
  ['invalid JSON', () => send('{"model": "gpt-4o-mini", "messages": [}'), invalid(null, /not valid JSON/)],
  ['empty body', () => send(''), invalid(null, /empty/)],
  [
    'wrong content-type (text/plain)',
    () => send(JSON.stringify(valid), { 'content-type': 'text/plain' }),
    { status: 415, type: 'invalid_request_error', message: /content-type: application\/json/ },
  ],
  [
    'form-encoded body',
    () => send('model=gpt-4o-mini', { 'content-type': 'application/x-www-form-urlencoded' }),
    { status: 415, type: 'invalid_request_error', message: /application\/json/ },
  ],
  ['array body', () => json([valid]), invalid(null, /must be object/)],
  ['missing model', () => json({ messages: user }), invalid('model', /`model`/)],
  ['empty model', () => json({ model: '', messages: user }), invalid('model', /`model`/)],
  ['model not a string', () => json({ model: 42, messages: user }), invalid('model', /`model`.*string/)],
  ['missing messages', () => json({ model: 'gpt-4o-mini' }), invalid('messages', /`messages`/)],
  ['empty messages', () => json({ model: 'gpt-4o-mini', messages: [] }), invalid('messages', /`messages`/)],
  ['messages not an array', () => json({ model: 'gpt-4o-mini', messages: 'hi' }), invalid('messages', /`messages`/)],
  [
    'bad role',
    () => json({ model: 'gpt-4o-mini', messages: [{ role: 'wizard', content: 'x' }] }),
    invalid('messages[0].role', /`messages\[0\]\.role`.*"user"/),
  ],
  ['message without role', () => json({ model: 'gpt-4o-mini', messages: [{ content: 'x' }] }), invalid('messages[0].role', /role/)],
  ['user message without content', () => json({ model: 'gpt-4o-mini', messages: [{ role: 'user' }] }), invalid('messages[0].content', /content/)],
  [
    'tool message without tool_call_id',
    () => json({ model: 'gpt-4o-mini', messages: [...user, { role: 'tool', content: '42' }] }),
    invalid('messages[1].tool_call_id', /tool_call_id/),
  ],
  [
    'content part without type',
    () => json({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ text: 'x' }] }] }),
    invalid('messages[0].content[0].type', /messages\[0\]\.content\[0\]\.type/),
  ],
  [
    'text part without text',
    () => json({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text' }] }] }),
    invalid('messages[0].content[0].text', /content\[0\]\.text/),
  ],
  [
    'image part without url',
    () => json({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }),
    invalid('messages[0].content[0].image_url.url', /image_url\.url/),
  ],
  [
    'assistant tool call without function arguments',
    () =>
      json({
        model: 'gpt-4o-mini',
        messages: [...user, { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f' } }] }],
      }),
    invalid('messages[1].tool_calls[0].function.arguments', /arguments/),
  ],
  ['temperature 3', () => json({ ...valid, temperature: 3 }), invalid('temperature', /`temperature`.*2/)],
  ['temperature as a string', () => json({ ...valid, temperature: 'hot' }), invalid('temperature', /`temperature`/)],
  ['top_p 1.5', () => json({ ...valid, top_p: 1.5 }), invalid('top_p', /`top_p`/)],
  ['n=2', () => json({ ...valid, n: 2 }), invalid('n', /`n`/)],
  ['stream "yes"', () => json({ ...valid, stream: 'yes' }), invalid('stream', /`stream`.*boolean/)],
  ['max_tokens 0', () => json({ ...valid, max_tokens: 0 }), invalid('max_tokens', /`max_tokens`/)],
  ['max_completion_tokens 1.5', () => json({ ...valid, max_completion_tokens: 1.5 }), invalid('max_completion_tokens', /`max_completion_tokens`/)],
  ['stop with five sequences', () => json({ ...valid, stop: ['a', 'b', 'c', 'd', 'e'] }), invalid('stop', /`stop`/)],
  [
    'tool with an invalid function name',
    () => json({ ...valid, tools: [{ type: 'function', function: { name: 'get weather!' } }] }),
    invalid('tools[0].function.name', /tools\[0\]\.function\.name/),
  ],
  ['function tool without function', () => json({ ...valid, tools: [{ type: 'function' }] }), invalid('tools[0].function', /tools\[0\]\.function/)],
  ['tool_choice bogus', () => json({ ...valid, tool_choice: 'bogus' }), invalid('tool_choice', /`tool_choice`.*"auto"/)],
  [
    'tool_choice function without name',
    () => json({ ...valid, tool_choice: { type: 'function', function: {} } }),
    invalid('tool_choice.function.name', /tool_choice\.function\.name/),
  ],
  [
    'response_format json_schema without json_schema',
    () => json({ ...valid, response_format: { type: 'json_schema' } }),
    invalid('response_format.json_schema', /response_format\.json_schema/),
  ],
  ['response_format of an unknown type', () => json({ ...valid, response_format: { type: 'yaml' } }), invalid('response_format.type', /response_format\.type/)],
  ['stream_options.include_usage "yes"', () => json({ ...valid, stream: true, stream_options: { include_usage: 'yes' } }), invalid('stream_options.include_usage', /include_usage/)],
  [
    'body over BODY_LIMIT_BYTES',
    () => json({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(5000) }] }),
    { status: 413, type: 'invalid_request_error', message: /BODY_LIMIT_BYTES/ },
  ],
  [
    'deeply nested junk',
    () => send(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"junk":${'['.repeat(1000)}${']'.repeat(1000)}}`),
    invalid(null, /nests .* deep/),
  ],
  [
    'deeply nested junk inside a schema the gateway does not inspect',
    () => send(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":{"a":${'{"b":'.repeat(500)}1${'}'.repeat(500)}}}`),
    invalid(null, /nests .* deep/),
  ],
  [
    '__proto__ key',
    () => send('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"__proto__":{"isAdmin":true}}'),
    invalid(null, /__proto__/),
  ],
  [
    '__proto__ key inside a message',
    () => send('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","__proto__":{"role":"system"}}]}'),
    invalid(null, /__proto__/),
  ],
  [
    'constructor.prototype key',
    () => send('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"constructor":{"prototype":{"x":1}}}'),
    invalid(null, /constructor\.prototype/),
  ],
  [
    'unknown model',
    () => json({ model: 'llama-3-70b', messages: user }),
    { status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model', message: /llama-3-70b[\s\S]*openai\/[\s\S]*gpt-[\s\S]*claude-/ },
  ],
  [
    'unknown provider prefix',
    () => json({ model: 'mistral/large', messages: user }),
    { status: 404, type: 'invalid_request_error', code: 'model_not_found', message: /mistral\/large/ },
  ],
  [
    'a provider without its key (Anthropic)',
    () => json({ model: 'claude-3-5-haiku-20241022', messages: user }),
    { status: 503, type: 'api_error', message: /ANTHROPIC_API_KEY/ },
  ],
]

for (const [name, request, expected] of cases) {
  t.test(name, async (t) => {
    const response = await request()
    t.ok(response.status >= 400 && response.status < 500 || expected.status === 503, `a 4xx (got ${response.status})`)
    await expectError(t, response, expected)
    t.equal(upstream.requests.length, 0, 'nothing was sent upstream')
  })
}

// Issue 10, defect 7: shapes the translators assumed away were 500s (a tool call without
// `function` crashed the demo and the Claude translator; `properties.x: null` the demo's
// argument filler). The schema now states what they read, so each is a 400 naming the field,
// the same for every provider, and nothing reaches an upstream.
const tool = (parameters: unknown) => ({ type: 'function', function: { name: 'f', parameters } })
const asked = [{ role: 'user', content: 'hi' }]
const badShapes: Array<[string, Record<string, unknown>, string]> = [
  [
    'an assistant tool call without function',
    { messages: [...asked, { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function' }] }, { role: 'tool', tool_call_id: 'c1', content: '1' }] },
    'messages[1].tool_calls[0].function',
  ],
  ['a tool property schema that is null', { messages: asked, tools: [tool({ type: 'object', properties: { x: null }, required: ['x'] })] }, 'tools[0].function.parameters.properties.x'],
  ['tool properties that are not an object', { messages: asked, tools: [tool({ type: 'object', properties: [1] })] }, 'tools[0].function.parameters.properties'],
  ['tool required that is not a list of names', { messages: asked, tools: [tool({ type: 'object', properties: {}, required: 'x' })] }, 'tools[0].function.parameters.required'],
  ['tool parameters that are not an object', { messages: asked, tools: [tool([])] }, 'tools[0].function.parameters'],
  ['a user message with null content', { messages: [{ role: 'user', content: null }] }, 'messages[0].content'],
  ['a system message with null content', { messages: [{ role: 'system', content: null }, ...asked] }, 'messages[0].content'],
  [
    'a tool message with null content',
    { messages: [...asked, { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content: null }] },
    'messages[2].content',
  ],
  ['a file part without file', { messages: [{ role: 'user', content: [{ type: 'file' }] }] }, 'messages[0].content[0].file'],
  ['a refusal part without refusal', { messages: [...asked, { role: 'assistant', content: [{ type: 'refusal' }] }, ...asked] }, 'messages[1].content[0].refusal'],
  ['an image in an assistant message', { messages: [...asked, { role: 'assistant', content: [{ type: 'image_url', image_url: { url: 'https://x.test/a.png' } }] }, ...asked] }, 'messages[1].content[0].type'],
  ['tool_choice of type function without function', { messages: asked, tools: [tool({ type: 'object' })], tool_choice: { type: 'function' } }, 'tool_choice.function'],
  [
    'a response schema property that is null',
    { messages: asked, response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object', properties: { x: null } } } } },
    'response_format.json_schema.schema.properties.x',
  ],
  ['a response schema description that is not text', { messages: asked, response_format: { type: 'json_schema', json_schema: { name: 'a', description: 1, schema: {} } } }, 'response_format.json_schema.description'],
  ['safety_identifier that is not text', { messages: asked, safety_identifier: 42 }, 'safety_identifier'],
]
const everyProvider = ['demo-chat', 'gpt-4o-mini', 'claude-sonnet-4-5']

for (const [name, body, param] of badShapes) {
  t.test(`${name}: a 400 naming ${param} for every provider`, async (t) => {
    for (const model of everyProvider) {
      const response = await send(JSON.stringify({ model, ...body }), undefined, both.url)
      await expectError(t, response, invalid(param, /./))
    }
    t.equal(upstream.requests.length, 0, 'nothing was sent upstream')
  })
}

t.test('a body of more than 100,000 items is a 413 before it is parsed, whatever the model', async (t) => {
  // Structure is what costs: 10 MB of small objects held the event loop for seconds (issue 10).
  const messages = Array.from({ length: 50_000 }, () => ({ role: 'user', content: 'x' })) // 150,000 items
  for (const model of everyProvider) {
    const response = await send(JSON.stringify({ model, messages }), undefined, both.url)
    await expectError(t, response, { status: 413, type: 'invalid_request_error', message: /100,000 items/ })
  }
  t.equal(upstream.requests.length, 0, 'nothing was sent upstream')
})

t.test('brackets and escaped quotes inside strings are text, not nesting', async (t) => {
  upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
  // An escaped quote, 300 brackets, then an escaped backslash right before the closing quote.
  const content = `say "${'['.repeat(300)}${'{'.repeat(300)}\\`
  const response = await json({ ...valid, messages: [{ role: 'user', content }] })
  t.equal(response.status, 200, await response.text())
  t.equal((upstream.requests[0]?.body as { messages: Array<{ content: string }> }).messages[0]?.content, content, 'sent on unchanged')
})

t.test('a model name with an empty part is a 400 naming model, not a call upstream', async (t) => {
  for (const model of ['openai/', 'anthropic/', 'demo/', 'openai//', '/x', '/gpt-4o-mini', 'openai//gpt-4o-mini', 'gpt-4o/', ' ', 'openai/ ']) {
    for (const path of [CHAT, '/v1/agents/reasoning']) {
      const response = await fetch(`${both.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: asked }) })
      await expectError(t, response, invalid('model', /empty part/))
    }
  }
  t.equal(upstream.requests.length, 0, 'nothing was sent upstream')
})

t.test('the agent route takes at most 128 tool names', async (t) => {
  const tools = Array.from({ length: 129 }, (_, i) => `tool_${i}`)
  const response = await fetch(`${both.url}/v1/agents/reasoning`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-chat', messages: asked, tools }) })
  await expectError(t, response, invalid('tools', /128/))
})

t.test('the translators still take what the schema lets through', async (t) => {
  // Boolean property schemas are JSON Schema; a refusal part is an assistant's; tool choices name a function.
  upstream.setDefault({ fixture: 'anthropic-messages-text-nonstream' })
  const body = {
    messages: [...asked, { role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] }, ...asked],
    tools: [tool({ type: 'object', properties: { x: true, y: { type: 'string' } }, required: ['x'] })],
    tool_choice: { type: 'function', function: { name: 'f' } },
  }
  const response = await send(JSON.stringify({ model: 'claude-sonnet-4-5', ...body }), undefined, both.url)
  t.equal(response.status, 200, await response.text())
  const sent = upstream.requests[0]?.body as { tools?: Array<{ input_schema: unknown }>; messages?: unknown[] }
  t.same(sent.tools?.[0]?.input_schema, { type: 'object', properties: { x: true, y: { type: 'string' } }, required: ['x'] })
  t.same(sent.messages?.[1], { role: 'assistant', content: [{ type: 'text', text: 'no' }] })
  const demo = await send(JSON.stringify({ model: 'demo-chat', ...body }), undefined, both.url)
  t.equal(demo.status, 200, 'the demo fills a boolean-schema property')
})

t.test('a provider without its key (OpenAI): 503 naming OPENAI_API_KEY', async (t) => {
  const response = await send(JSON.stringify(valid), undefined, keyless.url)
  await expectError(t, response, { status: 503, type: 'api_error', message: /OPENAI_API_KEY/ })
})

t.test('an unknown route is a 404 in the same shape', async (t) => {
  await expectError(t, await fetch(`${gateway.url}/v1/completions`, { method: 'POST' }), {
    status: 404,
    type: 'invalid_request_error',
    message: /\/v1\/completions/,
  })
  await expectError(t, await fetch(`${gateway.url}/nope`), { status: 404, type: 'invalid_request_error', message: /\/nope/ })
})

t.test('the GET method on the chat route is a 405 naming it and what is allowed, not a crash', async (t) => {
  const response = await fetch(`${gateway.url}${CHAT}`)
  t.equal(response.headers.get('allow'), 'POST')
  await expectError(t, response, { status: 405, type: 'invalid_request_error', message: /GET.*POST/ })
})

t.test('after all that: no 5xx was logged as unhandled, nothing polluted, the gateway still serves', async (t) => {
  t.notOk(gateway.logs().some((l) => l.msg === 'unhandled error'), 'no unhandled error')
  t.notOk(gateway.logs().some((l) => typeof l.status === 'number' && l.status >= 500 && l.status !== 503), 'no 5xx but the deliberate 503')
  t.notOk(both.logs().some((l) => typeof l.status === 'number' && l.status >= 500), 'no 5xx from any translator')
  t.equal(gateway.child.exitCode, null, 'the process is alive')
  upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
  const response = await json(valid)
  t.equal(response.status, 200)
  const body = (await response.json()) as Record<string, unknown>
  t.notOk('isAdmin' in body, 'no prototype pollution leaked into answers')
})

t.test('unknown fields of a valid body reach the OpenAI upstream unchanged', async (t) => {
  upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
  const extra = {
    logprobs: true,
    top_logprobs: 2,
    prediction: { type: 'content', content: 'guess' },
    service_tier: 'flex',
    some_future_field: { nested: [1, 'two', { three: null }] },
  }
  const sent = { ...valid, temperature: 0.2, ...extra }
  const response = await json(sent)
  t.equal(response.status, 200)
  const [request] = upstream.requests
  t.equal(request?.path, '/v1/chat/completions')
  t.same(request?.body, sent, 'the body as sent, nothing dropped, nothing added')
})

t.test('streams always ask the upstream for usage; the caller sees the usage chunk only when it asked', async (t) => {
  upstream.setDefault({ fixture: 'openai-chat-text-stream-include-usage' })

  const plain = await json({ ...valid, stream: true })
  t.equal(plain.status, 200)
  const plainChunks = openaiStreamChunks(await plain.text())
  t.same((upstream.requests[0]?.body as { stream_options?: unknown }).stream_options, { include_usage: true }, 'asked upstream for usage')
  t.notOk(plainChunks.some((c) => c.usage), 'no usage reached a caller that did not ask')
  t.notOk(plainChunks.some((c) => 'usage' in c), 'not even usage: null')

  const asked = await json({ ...valid, stream: true, stream_options: { include_usage: true } })
  const askedChunks = openaiStreamChunks(await asked.text())
  t.same((upstream.requests[1]?.body as { stream_options?: unknown }).stream_options, { include_usage: true })
  const usage = askedChunks.at(-1)?.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined
  t.equal(usage?.prompt_tokens, 23, 'the usage chunk comes last, with the upstream numbers')
  t.equal(usage?.completion_tokens, 8)

  const declined = await json({ ...valid, stream: true, stream_options: { include_usage: false } })
  t.notOk(openaiStreamChunks(await declined.text()).some((c) => c.usage), 'include_usage: false is respected for the caller')
  t.same((upstream.requests[2]?.body as { stream_options?: unknown }).stream_options, { include_usage: true }, 'but upstream still meters')
})
