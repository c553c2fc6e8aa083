// Responses request → chat completions body, for chat-only upstreams (and, through chat, for
// Anthropic). Driven by what real clients send: the recorded Responses requests and the
// requests Codex sends (test/fixtures/clients/codex-request*.json).
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { GatewayError } from '../../../src/errors.ts'
import { responsesToChat } from '../../../src/providers/openai/from-responses.ts'
import { encodeThinking, type ThinkingBlock } from '../../../src/providers/openai/reasoning-carry.ts'
import { CUSTOM_TOOL_PARAMETERS } from '../../../src/providers/openai/responses-tools.ts'
import { loadFixture } from '../../support/fixtures.ts'

type Json = Record<string, unknown>

function codex(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../../fixtures/clients/${name}.json`, import.meta.url), 'utf8')) as Json
}

function recordedRequest(name: string): Json {
  return JSON.parse(loadFixture(name).request.body) as Json
}

function chat(body: Json, stream = false) {
  return responsesToChat.request(body, 'upstream-model', stream)
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

t.test('a recorded string input becomes one user message; the model is the upstream id', async (t) => {
  const { body, omitted } = chat(recordedRequest('openai-responses-text-nonstream'))
  t.same(body, { model: 'upstream-model', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
  t.equal(omitted, undefined)
})

t.test('streamed: the chat body asks for usage, so the stream can be metered', async (t) => {
  const { body } = chat(recordedRequest('openai-responses-text-stream'), true)
  t.equal(body.stream, true)
  t.same(body.stream_options, { include_usage: true })
})

t.test('a recorded function tool: flat in Responses, nested in chat; the user id kept', async (t) => {
  const request = recordedRequest('openai-responses-function-call-stream')
  const { body } = chat(request, true)
  const tool = (request.tools as Json[])[0] as Json
  t.same(body.tools, [{
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }])
  t.equal(body.user, 'ddtrace-test')
  t.notOk('parallel_tool_calls' in body, 'only sent when the caller set it')
})

t.test('knobs: instructions, limits, sampling, effort and formats map to their chat names', async (t) => {
  const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false }
  const { body, omitted } = chat({
    model: 'x',
    instructions: 'Be brief.',
    input: 'hi',
    max_output_tokens: 300,
    temperature: 0.2,
    top_p: 0.9,
    reasoning: { effort: 'low', summary: 'auto' },
    text: { format: { type: 'json_schema', name: 'answer', schema, strict: true }, verbosity: 'low' },
    metadata: { k: 'v' },
    store: false,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: 'abc',
    previous_response_id: 'resp_1',
    user: 'u1',
  })
  t.same(body, {
    model: 'upstream-model',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }],
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    reasoning_effort: 'low',
    max_tokens: 300,
    temperature: 0.2,
    top_p: 0.9,
    user: 'u1',
  })
  t.same(omitted, ['text.verbosity'])
  t.same(chat({ input: 'x', text: { format: { type: 'json_object' } } }).body.response_format, { type: 'json_object' })
})

t.test("Codex's request: developer items are system messages, hosted tools left out and named", async (t) => {
  const request = codex('codex-request')
  const { body, omitted } = chat(request, true)
  const messages = body.messages as Json[]
  t.same(messages.map((m) => m.role), ['system', 'system', 'user', 'user'])
  // Several input_text parts stay several parts (Anthropic keeps them as separate system blocks).
  const parts = ((request.input as Json[])[1]?.content as Json[]).map((part) => ({ type: 'text', text: part.text }))
  t.same(messages[1]?.content, parts)
  t.same(messages[3]?.content, [{ type: 'text', text: 'say hi' }])

  const tools = body.tools as Array<{ function: Json }>
  const names = tools.map((tool) => tool.function.name)
  t.same(names, ['exec_command', 'write_stdin', 'request_user_input', 'apply_patch', 'view_image', 'get_goal', 'create_goal', 'update_goal'])
  const patch = tools[3]?.function
  t.same(patch?.parameters, CUSTOM_TOOL_PARAMETERS, 'the freeform tool takes one string')
  t.match(patch?.description, /FREEFORM[\s\S]*lark grammar:\nstart: begin_patch/, 'its grammar is in the description')
  t.same(omitted?.sort(), ['text.verbosity', 'tools.tool_search', 'tools.web_search'])
  t.equal(body.tool_choice, 'auto')
  t.equal(body.parallel_tool_calls, true)
  t.equal(body.reasoning_effort, 'medium')
  for (const field of ['store', 'include', 'prompt_cache_key', 'client_metadata', 'text', 'reasoning', 'input']) {
    t.notOk(field in body, `${field} is not sent to a chat server`)
  }
})

t.test("Codex's default model: the tools in an additional_tools item's namespace become functions", async (t) => {
  const { body, omitted } = chat(codex('codex-request.default-model'), true)
  const names = (body.tools as Array<{ function: Json }>).map((tool) => tool.function.name)
  t.ok(names.length >= 5, `${names.length} tools`)
  t.ok(names.includes('exec') && names.includes('wait'), 'the namespace members keep their names')
  t.notOk((body.messages as Json[]).some((m) => JSON.stringify(m).includes('additional_tools')), 'the item is not a message')
  t.notOk(omitted?.some((o) => o.startsWith('tools.')), 'nothing left out')
})

t.test('a namespaced name that collides with a top-level one is qualified, both ways', async (t) => {
  const tools = [
    { type: 'function', name: 'search', parameters: { type: 'object', properties: {} } },
    { type: 'namespace', name: 'crm', description: '', tools: [{ type: 'function', name: 'search' }] },
  ]
  const { body } = chat({
    tools,
    tool_choice: { type: 'function', name: 'search', namespace: 'crm' },
    input: [
      { type: 'function_call', call_id: 'c1', namespace: 'crm', name: 'search', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'none' },
    ],
  })
  t.same((body.tools as Array<{ function: Json }>).map((tool) => tool.function.name), ['search', 'crm__search'])
  t.same(body.tool_choice, { type: 'function', function: { name: 'crm__search' } })
  t.equal(((body.messages as Json[])[0]?.tool_calls as Array<{ function: Json }>)[0]?.function.name, 'crm__search')
})

t.test('a tool loop: one assistant turn (reasoning, text, calls) then one tool message per call', async (t) => {
  const blocks: ThinkingBlock[] = [
    { type: 'thinking', thinking: 'Two cities.', signature: 'sig-1' },
    { type: 'redacted_thinking', data: 'opaque' },
  ]
  const { body } = chat({
    tools: [
      { type: 'function', name: 'weather', parameters: { type: 'object', properties: {} } },
      { type: 'custom', name: 'apply_patch' },
    ],
    input: [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Two cities.' }], encrypted_content: encodeThinking(blocks) },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
      { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'c2', name: 'weather', arguments: '{"city":"Rome"}' },
      { type: 'custom_tool_call', call_id: 'c3', name: 'apply_patch', input: '*** Begin Patch' },
      { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
      { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'rain' }] },
      { type: 'custom_tool_call_output', call_id: 'c3', output: 'done' },
    ],
  })
  t.same(body.messages, [
    { role: 'user', content: 'Weather in Paris and Rome?' },
    {
      role: 'assistant',
      content: 'Checking.',
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        { id: 'c2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        { id: 'c3', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}' } },
      ],
      reasoning_content: 'Two cities.',
      thinking_blocks: blocks,
    },
    { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
    { role: 'tool', tool_call_id: 'c2', content: 'rain' },
    { role: 'tool', tool_call_id: 'c3', content: 'done' },
  ])
})

t.test("an image a tool returned follows the tool messages (chat tool messages hold text)", async (t) => {
  const image = 'data:image/png;base64,iVBORw0KGgo='
  const { body } = chat({
    input: [
      { type: 'function_call', call_id: 'c1', name: 'view_image', arguments: '{}' },
      { type: 'function_call', call_id: 'c2', name: 'view_image', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_image', image_url: image, detail: 'high' }] },
      { type: 'function_call_output', call_id: 'c2', output: 'no image' },
    ],
  })
  const messages = body.messages as Json[]
  t.same(messages.map((m) => m.role), ['assistant', 'tool', 'tool', 'user'])
  t.equal(messages[1]?.content, '')
  t.same(messages[3]?.content, [{ type: 'image_url', image_url: { url: image, detail: 'high' } }])
})

t.test("reasoning that is not ours (OpenAI's encrypted content) is left out; ours altered is a 400", async (t) => {
  const { body } = chat({
    input: [
      { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAAAABo-openai-sealed' },
      { type: 'message', role: 'assistant', content: 'hi' },
    ],
  })
  t.same(body.messages, [{ role: 'assistant', content: 'hi' }])
  const alone = chat({ input: [{ role: 'user', content: 'a' }, { type: 'reasoning', summary: [{ type: 'summary_text', text: 't' }] }, { role: 'user', content: 'b' }] })
  t.same(alone.body.messages, [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }], 'reasoning with nothing said after it is left out')
  const altered = encodeThinking([{ type: 'thinking', thinking: 'x', signature: 's' }]).slice(0, -6)
  refused(t, { input: [{ type: 'reasoning', summary: [], encrypted_content: altered }] }, 'input[0].encrypted_content')
})

t.test('what a chat server cannot take is refused naming the field, or left out and recorded', async (t) => {
  refused(t, { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] }, 'input[0].content[0]')
  refused(t, { input: [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://x/y.pdf' }] }] }, 'input[0].content[0]')
  refused(t, { input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].id')
  refused(t, { input: [{ type: 'bogus' }] }, 'input[0].type')
  refused(t, { input: 'x', prompt: { id: 'pmpt_1' } }, 'prompt')
  refused(t, { input: [{ role: 'system', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }, 'input[0].content[0]')
  refused(t, { input: 'x', tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'function', name: 'g' } }, 'tool_choice.name')

  const { body, omitted } = chat({
    tools: [{ type: 'web_search' }, { type: 'file_search', vector_store_ids: ['v'] }],
    tool_choice: { type: 'web_search' },
    max_tool_calls: 3,
    input: [
      { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'q' } },
      { role: 'user', content: 'and?' },
    ],
  })
  t.same(body.messages, [{ role: 'user', content: 'and?' }])
  t.notOk('tools' in body || 'tool_choice' in body, 'no tools left: no tool_choice either (chat servers refuse it alone)')
  t.same(omitted?.sort(), ['input.web_search_call', 'max_tool_calls', 'tool_choice.web_search', 'tools.file_search', 'tools.web_search'])
})
