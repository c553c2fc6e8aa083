// Anthropic Messages request → chat completions body, for OpenAI and OpenAI-compatible models.
// Driven by what real clients send: Claude Code's requests (test/fixtures/clients/claude-code-
// request*.json) and the recorded Anthropic requests.
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import type { ModelTraits } from '../../../src/core/translator.ts'
import { GatewayError } from '../../../src/errors.ts'
import { messagesToChat, reasoningEffort } from '../../../src/providers/openai/from-messages.ts'
import { loadFixture } from '../../support/fixtures.ts'

type Json = Record<string, unknown>

function client(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../../fixtures/clients/${name}.json`, import.meta.url), 'utf8')) as Json
}

function recordedRequest(name: string): Json {
  return JSON.parse(loadFixture(name).request.body) as Json
}

const REASONS: ModelTraits = { reasoning: true }
const PLAIN: ModelTraits = { reasoning: false }

function chat(body: Json, { stream = false, traits = PLAIN }: { stream?: boolean; traits?: ModelTraits } = {}) {
  return messagesToChat.request(body, 'upstream-model', stream, traits)
}

function messagesOf(body: Json): Json[] {
  return chat(body).body.messages as Json[]
}

function refused(t: Test, body: Json, param: string): void {
  let error: unknown
  try {
    chat(body)
  } catch (caught) {
    error = caught
  }
  t.ok(error instanceof GatewayError && error.status === 400 && error.param === param, `400 naming ${param}`, { error })
}

const user = (content: unknown) => ({ role: 'user', content })
const assistant = (content: unknown) => ({ role: 'assistant', content })

t.test("Claude Code's request (default model) translates without a 400, nothing it relies on lost", async (t) => {
  const request = client('claude-code-request')
  const { body, omitted } = chat(request, { stream: true, traits: REASONS })
  const messages = body.messages as Json[]
  const system = (request.system as Json[]).map((block) => block.text).join('\n\n')
  t.same(messages[0], { role: 'system', content: system }, 'the system blocks lead, as one string')
  const [said, inside] = request.messages as Json[]
  t.same(messages[1], { role: 'user', content: (said?.content as Json[]).map((b) => ({ type: 'text', text: b.text })) })
  t.same(messages[2], { role: 'system', content: (inside?.content as Json[])[0]?.text }, 'the system message inside messages stays where it stands')
  t.equal(messages.length, 3)

  const tools = body.tools as Json[]
  t.equal(tools.length, (request.tools as Json[]).length, 'every tool offered, the deferred one too')
  const bash = (request.tools as Json[]).find((tool) => tool.name === 'Bash') as Json
  t.same(tools.find((tool) => (tool.function as Json).name === 'Bash'), {
    type: 'function',
    function: { name: 'Bash', description: bash.description, parameters: bash.input_schema },
  })
  t.notOk(JSON.stringify(body).includes('cache_control'), 'cache_control dropped everywhere')
  t.notOk(JSON.stringify(body).includes('defer_loading'))

  t.equal(body.max_completion_tokens, 128000)
  t.equal(body.reasoning_effort, 'medium', 'adaptive thinking at output_config.effort medium')
  t.equal(body.stream, true)
  t.same(body.stream_options, { include_usage: true }, 'a stream that can be metered')
  t.notOk('user' in body || 'metadata' in body, "metadata.user_id is the span's, not the upstream's")
  t.notOk('thinking' in body || 'output_config' in body || 'context_management' in body)
  t.same(omitted, ['context_management'])
})

t.test('the same request to a model that does not reason: thinking and effort left out and said so', async (t) => {
  const { body, omitted } = chat(client('claude-code-request'), { stream: true, traits: PLAIN })
  t.notOk('reasoning_effort' in body)
  t.same([...(omitted ?? [])].sort(), ['context_management', 'output_config.effort', 'thinking'])
  const { body: unknown } = messagesToChat.request(client('claude-code-request'), 'm', true)
  t.notOk('reasoning_effort' in unknown, 'traits unknown: the model is not assumed to reason')
})

t.test("Claude Code's request to another model (haiku shape: 25 tools, no thinking)", async (t) => {
  const request = client('claude-code-request.haiku')
  const { body, omitted } = chat(request, { stream: true, traits: REASONS })
  t.equal((body.tools as Json[]).length, 25)
  t.equal(body.max_completion_tokens, 8192)
  t.notOk('reasoning_effort' in body)
  t.equal(omitted, undefined)
  const last = (body.messages as Json[]).at(-1) as Json
  t.same((last.content as Json[]).at(-1), { type: 'text', text: 'say hi' }, 'the cache_control of the last block dropped')
})

t.test('recorded Anthropic requests translate: text, tools, thinking', async (t) => {
  const text = chat(recordedRequest('anthropic-messages-text-nonstream')).body
  t.same(text.messages, [{ role: 'user', content: (recordedRequest('anthropic-messages-text-nonstream').messages as Json[])[0]?.content }])
  const tools = recordedRequest('anthropic-messages-tool-use-nonstream')
  const mapped = chat(tools).body.tools as Json[]
  t.same(mapped.map((tool) => (tool.function as Json).name), (tools.tools as Json[]).map((tool) => tool.name))
  const thinking = recordedRequest('anthropic-messages-thinking-nonstream')
  t.ok(isBudget(thinking.thinking), 'the recording asks for a budget')
  t.equal(chat(thinking, { traits: REASONS }).body.reasoning_effort, reasoningEffort(thinking.thinking, undefined))
})

function isBudget(thinking: unknown): boolean {
  return typeof thinking === 'object' && thinking !== null && (thinking as Json).type === 'enabled'
}

t.test('a tool round trip: tool_use → tool_calls, tool_result → tool messages before the turn text', async (t) => {
  const messages = messagesOf({
    messages: [
      user('Weather and time in Paris?'),
      assistant([
        { type: 'thinking', thinking: 'Two tools.', signature: 'sig' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'time', input: {} },
      ]),
      user([
        { type: 'text', text: 'Here:' },
        { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '18°C' }, { type: 'text', text: 'sunny' }] },
        { type: 'tool_result', tool_use_id: 'toolu_2', content: 'no clock', is_error: true },
      ]),
    ],
  })
  t.same(messages, [
    { role: 'user', content: 'Weather and time in Paris?' },
    {
      role: 'assistant',
      content: 'Checking.',
      tool_calls: [
        { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        { id: 'toolu_2', type: 'function', function: { name: 'time', arguments: '{}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'toolu_1', content: '18°C\n\nsunny' },
    { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: no clock' },
    { role: 'user', content: 'Here:' },
  ])
  const { omitted } = chat({ messages: [assistant([{ type: 'thinking', thinking: 'x', signature: 's' }, { type: 'redacted_thinking', data: 'd' }])] })
  t.same(omitted, ['messages.thinking'], 'thinking blocks dropped, named once')
  t.same(messagesOf({ messages: [assistant([{ type: 'thinking', thinking: 'x', signature: 's' }])] }), [], 'a turn of thinking only: no empty assistant message')
})

t.test('images: base64 as a data URL, url as it is; tool images follow the tool messages', async (t) => {
  const png = { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' }
  const messages = messagesOf({
    messages: [user([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a chart' }, { type: 'image', source: png }] },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      { type: 'text', text: 'Compare.' },
    ])],
  })
  t.same(messages, [
    { role: 'tool', tool_call_id: 'toolu_1', content: 'a chart' },
    {
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        { type: 'text', text: 'Compare.' },
      ],
    },
  ])
  refused(t, { messages: [user([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }])] }, 'messages[0].content[0].source.type')
})

t.test('blocks with no chat equivalent are left out and named, never a 400', async (t) => {
  const { body, omitted } = chat({
    messages: [
      user([
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'doc' } },
        { type: 'search_result', source: 's', title: 't', content: [] },
        { type: 'text', text: 'Summarise.' },
      ]),
      assistant([
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
        { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
        { type: 'text', text: 'Found it.', citations: [{ type: 'web_search_result_location' }] },
      ]),
      user([{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'tool_reference', tool_name: 'x' }] }]),
    ],
  })
  t.same(body.messages, [
    { role: 'user', content: 'Summarise.' },
    { role: 'assistant', content: 'Found it.' },
    { role: 'tool', tool_call_id: 'toolu_1', content: '' },
  ])
  t.same([...(omitted ?? [])].sort(), [
    'messages.document', 'messages.search_result', 'messages.server_tool_use', 'messages.tool_reference', 'messages.web_search_tool_result',
  ])
})

t.test('server tools are left out and named; a tool_choice naming one too', async (t) => {
  const serverTools = [
    { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
    { type: 'bash_20250124', name: 'bash' },
    { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
    { type: 'code_execution_20250825', name: 'code_execution' },
    { type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 },
    { type: 'memory_20250818', name: 'memory' },
  ]
  const custom = { type: 'custom', name: 'lookup', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } }
  const { body, omitted } = chat({ messages: [user('hi')], tools: [...serverTools, custom], tool_choice: { type: 'tool', name: 'web_search' } })
  t.same(body.tools, [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }])
  t.notOk('tool_choice' in body)
  t.same(omitted, [...serverTools.map((tool) => `tools.${tool.type}`), 'tool_choice.tool'])

  const only = chat({ messages: [user('hi')], tools: serverTools.slice(0, 1), tool_choice: { type: 'any' } })
  t.notOk('tools' in only.body || 'tool_choice' in only.body, 'no tools left: no tool_choice (chat servers refuse it)')
  t.same(only.omitted, ['tools.web_search_20250305', 'tool_choice.any'])
})

t.test('tool_choice and disable_parallel_tool_use in chat words', async (t) => {
  const tools = [{ name: 'lookup', description: 'Look up.', input_schema: { type: 'object' }, strict: true }]
  const choose = (tool_choice: Json) => {
    const { body } = chat({ messages: [user('hi')], tools, tool_choice })
    return { tool_choice: body.tool_choice, parallel_tool_calls: body.parallel_tool_calls }
  }
  t.same(choose({ type: 'auto' }), { tool_choice: 'auto', parallel_tool_calls: undefined })
  t.same(choose({ type: 'any' }), { tool_choice: 'required', parallel_tool_calls: undefined })
  t.same(choose({ type: 'none' }), { tool_choice: 'none', parallel_tool_calls: undefined })
  t.same(choose({ type: 'tool', name: 'lookup', disable_parallel_tool_use: true }), {
    tool_choice: { type: 'function', function: { name: 'lookup' } },
    parallel_tool_calls: false,
  })
  t.same(choose({ type: 'auto', disable_parallel_tool_use: true }), { tool_choice: 'auto', parallel_tool_calls: false })
  t.same(chat({ messages: [user('hi')], tools }).body.tools, [
    { type: 'function', function: { name: 'lookup', description: 'Look up.', parameters: { type: 'object' }, strict: true } },
  ])
  refused(t, { messages: [user('hi')], tools, tool_choice: { type: 'tool', name: 'missing' } }, 'tool_choice.name')
  refused(t, { messages: [user('hi')], tools, tool_choice: { type: 'sometimes' } }, 'tool_choice.type')
})

t.test('thinking → reasoning_effort: budgets by size, effort levels capped at high', async (t) => {
  const enabled = (budget_tokens: number) => ({ type: 'enabled', budget_tokens })
  t.equal(reasoningEffort(enabled(1024), undefined), 'low')
  t.equal(reasoningEffort(enabled(2048), undefined), 'low')
  t.equal(reasoningEffort(enabled(2049), undefined), 'medium')
  t.equal(reasoningEffort(enabled(8192), undefined), 'medium')
  t.equal(reasoningEffort(enabled(16000), undefined), 'high')
  for (const [effort, expected] of [['low', 'low'], ['medium', 'medium'], ['high', 'high'], ['xhigh', 'high'], ['max', 'high']]) {
    t.equal(reasoningEffort({ type: 'adaptive' }, effort), expected, `adaptive at ${effort}`)
  }
  t.equal(reasoningEffort({ type: 'adaptive' }, undefined), undefined, "adaptive without a level: the model's default")
  t.equal(reasoningEffort({ type: 'disabled' }, 'high'), undefined)
  t.equal(reasoningEffort(undefined, 'low'), 'low', 'effort alone')
  const { body, omitted } = chat({ messages: [user('hi')], thinking: { type: 'disabled' } })
  t.notOk('reasoning_effort' in body)
  t.equal(omitted, undefined, 'thinking turned off asks nothing of a model that does not reason')
})

t.test('knobs: limits, stops, sampling, structured output; Anthropic-only fields named', async (t) => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false }
  const { body, omitted } = chat({
    model: 'claude-sonnet-4-5',
    messages: [user('hi')],
    system: 'Be brief.',
    max_tokens: 300,
    stop_sequences: ['END', '###'],
    temperature: 0.2,
    top_p: 0.9,
    top_k: 40,
    output_config: { format: { type: 'json_schema', schema } },
    metadata: { user_id: 'user-1' },
    service_tier: 'auto',
    container: 'container_1',
    mcp_servers: [{ type: 'url', url: 'https://mcp.example.com', name: 'x' }],
    speed: 'fast',
    cache_control: { type: 'ephemeral' },
    workspace_id: 'wrkspc_1',
  })
  t.same(body, {
    model: 'upstream-model',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }],
    max_completion_tokens: 300,
    stop: ['END', '###'],
    temperature: 0.2,
    top_p: 0.9,
    response_format: { type: 'json_schema', json_schema: { name: 'response', schema } },
  })
  t.same(omitted, ['top_k', 'container', 'mcp_servers', 'service_tier', 'speed'])
})

t.test('malformed requests are 400s naming the field', async (t) => {
  refused(t, {}, 'messages')
  refused(t, { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role')
  refused(t, { messages: [user(42)] }, 'messages[0].content')
  refused(t, { messages: [assistant([{ type: 'tool_use', name: 'x', input: {} }])] }, 'messages[0].content[0].id')
  refused(t, { messages: [user([{ type: 'tool_result', content: 'x' }])] }, 'messages[0].content[0].tool_use_id')
  refused(t, { messages: [user([{ text: 'no type' }])] }, 'messages[0].content[0].type')
  refused(t, { messages: [user('hi')], tools: [{ input_schema: {} }] }, 'tools[0].name')
  refused(t, { messages: [user('hi')], output_config: { format: { type: 'json_schema' } } }, 'output_config.format.schema')
})
