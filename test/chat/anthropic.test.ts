// Anthropic behind the OpenAI wire format, end to end: the real `openai` client calls the gateway,
// the gateway calls the Anthropic emulator replaying recorded Messages traffic. What the caller
// reads must say what Claude said; what reaches Anthropic must be a valid translation.
import t from 'tap'
import { APIError } from 'openai'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import { loadFixture } from '../support/fixtures.ts'
import { startGateway } from '../support/gateway.ts'
import { sseEvents, startUpstream } from '../support/upstream.ts'

const ANTHROPIC_KEY = 'sk-ant-test-key'
const upstream = await startUpstream({ seed: 11 })
const gateway = await startGateway({
  env: { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: upstream.anthropicBaseURL },
})
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
})
const client = gateway.client()
t.beforeEach(() => upstream.reset())

interface Block {
  type: string
  text?: string
  thinking?: string
  name?: string
  id?: string
  input?: unknown
}
const recordedMessage = (name: string) => JSON.parse(loadFixture(name).response.body) as { content: Block[]; model: string }
const recordedText = (blocks: Block[]) => blocks.filter((b) => b.type === 'text').map((b) => b.text).join('')

/** Content blocks of a recorded SSE stream, accumulated the way Anthropic's SDK does. */
function recordedStreamBlocks(name: string): Block[] {
  const blocks: Block[] = []
  const json: string[] = []
  for (const event of sseEvents(loadFixture(name).response.body)) {
    const data = JSON.parse(event.data) as { type: string; index?: number; content_block?: Block; delta?: { type: string; text?: string; partial_json?: string } }
    if (data.type === 'content_block_start' && data.content_block) {
      blocks[data.index!] = { ...data.content_block }
      json[data.index!] = ''
    }
    if (data.type === 'content_block_delta' && data.delta) {
      const block = blocks[data.index!]!
      if (data.delta.type === 'text_delta') block.text = (block.text ?? '') + data.delta.text
      if (data.delta.type === 'input_json_delta') json[data.index!] += data.delta.partial_json ?? ''
    }
  }
  return blocks.map((b, i) => (b.type === 'tool_use' ? { ...b, input: JSON.parse(json[i] || '{}') } : b))
}

t.test('text: Claude\'s words, stop reason and model come back as a chat.completion', async (t) => {
  upstream.enqueue({ fixture: 'anthropic-messages-text-nonstream' })
  const completion = await client.chat.completions.create({
    model: 'claude-3-opus-20240229',
    messages: [{ role: 'user', content: 'Tell me a joke about OpenTelemetry' }],
  })
  const recorded = recordedMessage('anthropic-messages-text-nonstream')
  t.equal(completion.object, 'chat.completion')
  t.equal(completion.model, recorded.model)
  t.equal(completion.choices[0]?.message.content, recordedText(recorded.content))
  t.equal(completion.choices[0]?.finish_reason, 'stop', 'end_turn → stop')
})

t.test('the request reaching Anthropic is a translated Messages request', async (t) => {
  upstream.enqueue({ fixture: 'anthropic-messages-text-nonstream' })
  await client.chat.completions.create({
    model: 'anthropic/claude-3-opus-20240229',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ],
    stop: 'END',
    temperature: 0.2,
  })
  const seen = upstream.requests[0]!
  t.equal(seen.path, '/v1/messages')
  // The current SDK sends the key as a bearer token; older ones used x-api-key.
  t.ok(seen.headers['x-api-key'] === ANTHROPIC_KEY || seen.headers.authorization === `Bearer ${ANTHROPIC_KEY}`, 'the key reaches Anthropic')
  t.ok(seen.headers['anthropic-version'], 'anthropic-version header set by the SDK')
  t.match(seen.body, {
    model: 'claude-3-opus-20240229',
    system: [{ type: 'text', text: 'Be brief.' }],
    messages: [{ role: 'user', content: 'Hi' }],
    stop_sequences: ['END'],
    temperature: 0.2,
    max_tokens: Number,
  })
})

t.test('streamed tool use: the OpenAI client reassembles Claude\'s tool calls', async (t) => {
  const name = 'anthropic-messages-tool-use-stream'
  upstream.enqueue({ fixture: name })
  const stream = await client.chat.completions.create({
    model: 'claude-3-5-sonnet-20240620',
    stream: true,
    messages: [{ role: 'user', content: 'What is the weather?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
  })
  const calls = new Map<number, { id: string; name: string; args: string }>()
  const finish: string[] = []
  let text = ''
  for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
    const choice = chunk.choices[0]
    if (!choice) continue
    text += choice.delta.content ?? ''
    if (choice.finish_reason) finish.push(choice.finish_reason)
    for (const call of choice.delta.tool_calls ?? []) {
      const entry = calls.get(call.index) ?? { id: '', name: '', args: '' }
      entry.id += call.id ?? ''
      entry.name += call.function?.name ?? ''
      entry.args += call.function?.arguments ?? ''
      calls.set(call.index, entry)
    }
  }
  const blocks = recordedStreamBlocks(name)
  const toolBlocks = blocks.filter((b) => b.type === 'tool_use')
  t.ok(toolBlocks.length > 0)
  t.same(
    [...calls.values()].map((c) => ({ id: c.id, name: c.name, input: JSON.parse(c.args) })),
    toolBlocks.map((b) => ({ id: b.id, name: b.name, input: b.input })),
    'ids, names and arguments as Claude sent them',
  )
  t.equal(text, recordedText(blocks))
  t.same(finish, ['tool_calls'], 'tool_use → tool_calls')
})

t.test('thinking becomes reasoning_content beside the answer', async (t) => {
  const name = 'anthropic-messages-thinking-nonstream'
  upstream.enqueue({ fixture: name })
  const completion = await client.chat.completions.create({
    model: 'claude-3-7-sonnet-20250219',
    reasoning_effort: 'low',
    messages: [{ role: 'user', content: 'How many r in strawberry?' }],
  })
  const recorded = recordedMessage(name)
  const message = completion.choices[0]?.message as { content: string; reasoning_content?: string }
  t.equal(message.content, recordedText(recorded.content))
  t.equal(message.reasoning_content, recorded.content.filter((b) => b.type === 'thinking').map((b) => b.thinking).join(''))
  t.match(upstream.requests[0]?.body, { thinking: { type: 'enabled', budget_tokens: Number } }, 'reasoning_effort → thinking')
})

t.test('Anthropic rejecting the gateway\'s key is a 502 that does not leak it', async (t) => {
  upstream.enqueue({ fixture: 'anthropic-messages-error-401-authentication' })
  const error = (await client.chat.completions
    .create({ model: 'claude-3-opus-20240229', messages: [{ role: 'user', content: 'hi' }] })
    .catch((e: unknown) => e)) as APIError
  t.ok(error instanceof APIError)
  t.equal(error.status, 502)
  t.match(error.message, /invalid x-api-key/)
  t.notMatch(JSON.stringify(error.error), ANTHROPIC_KEY)
})

t.test('Anthropic\'s 400 stays a 400 with Anthropic\'s message', async (t) => {
  upstream.enqueue({ fixture: 'anthropic-messages-error-400-invalid-request' })
  const error = (await client.chat.completions
    .create({ model: 'claude-3-opus-20240229', messages: [{ role: 'user', content: 'hi' }] })
    .catch((e: unknown) => e)) as APIError
  t.equal(error.status, 400)
  t.match(error.message, /does not match the expected shape/)
})

t.test('an error event inside a 200 stream ends the caller\'s stream with an error', async (t) => {
  const start = loadFixture('anthropic-messages-text-stream').response.body.split('event: content_block_stop')[0]!
  upstream.enqueue({
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    body: `${start}event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`,
  })
  const stream = await client.chat.completions.create({
    model: 'claude-3-haiku-20240307',
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
  })
  let text = ''
  const error = await (async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
  })().catch((e: unknown) => e)
  t.ok(text.length > 0, 'the part before the error was delivered')
  t.ok(error instanceof APIError, 'the OpenAI client raises the error event')
  t.match((error as APIError).message, /Overloaded/)
})
