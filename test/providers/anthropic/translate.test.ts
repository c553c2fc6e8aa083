// OpenAI ⇄ Anthropic translation, driven by recorded Anthropic traffic: requests are checked
// against what real clients sent, responses and streams against what Anthropic answered.
import t from 'tap'
import type { Message, MessageCreateParams, RawMessageStreamEvent, Tool, ToolUnion } from '@anthropic-ai/sdk/resources/messages'
import { Stream } from '@anthropic-ai/sdk/core/streaming'
import type { ChatCompletionChunk, ChatRequest } from '../../../src/core/types.ts'
import { GatewayError } from '../../../src/errors.ts'
import { JSON_RESPONSE_TOOL, toAnthropicRequest } from '../../../src/providers/anthropic/translate-request.ts'
import { type AnthropicUsageNumbers, fromAnthropicMessage, toGatewayUsage, toOpenAIUsage } from '../../../src/providers/anthropic/translate-response.ts'
import { type AnthropicStreamEvent, AnthropicStreamTranslator, type ChunkDelta } from '../../../src/providers/anthropic/translate-stream.ts'
import { UpstreamStreamError } from '../../../src/providers/upstream-errors.ts'
import { loadFixture } from '../../support/fixtures.ts'

// ---------------------------------------------------------------- helpers

function recordedRequest(name: string): MessageCreateParams {
  return JSON.parse(loadFixture(name).request.body) as MessageCreateParams
}

function recordedMessage(name: string): Message {
  return JSON.parse(loadFixture(name).response.body) as Message
}

/** Decoded with the SDK's own SSE parser, as the adapter will see them. */
async function recordedEvents(name: string): Promise<RawMessageStreamEvent[]> {
  const response = new Response(loadFixture(name).response.body)
  const events: RawMessageStreamEvent[] = []
  for await (const event of Stream.fromSSEResponse<RawMessageStreamEvent>(response, new AbortController())) events.push(event)
  return events
}

/** Test requests carry fields OpenAI's types lack (cache_control, thinking_blocks). */
function chat(body: Record<string, unknown>): ChatRequest {
  return { model: 'anthropic/ignored', ...body } as unknown as ChatRequest
}

const ESSENTIAL = ['model', 'max_tokens', 'system', 'messages', 'tools', 'tool_choice', 'thinking', 'stop_sequences', 'temperature', 'top_p', 'metadata'] as const

function essentials(params: object): Record<string, unknown> {
  const picked: Record<string, unknown> = {}
  for (const key of ESSENTIAL) {
    let value = (params as Record<string, unknown>)[key]
    // A string system prompt and one text block are the same request.
    if (key === 'system' && typeof value === 'string') value = [{ type: 'text', text: value }]
    if (value !== undefined) picked[key] = value
  }
  return picked
}

/** The SPEC's mapping, written out independently of the code under test. */
function specUsage(u: Record<string, unknown>) {
  const input = Number(u.input_tokens)
  const read = Number(u.cache_read_input_tokens ?? 0)
  const write = Number(u.cache_creation_input_tokens ?? 0)
  const output = Number(u.output_tokens)
  return {
    prompt_tokens: input + read + write,
    completion_tokens: output,
    total_tokens: input + read + write + output,
    prompt_tokens_details: { cached_tokens: read },
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

// The translation only ever sends custom (function) tools.
function toolNames(params: { tools?: ToolUnion[] }): string[] | undefined {
  return params.tools?.map((tool) => (tool as Tool).name)
}

function message(overrides: Partial<Message>): Message {
  return {
    id: 'msg_test', type: 'message', role: 'assistant', model: 'claude-test', content: [],
    stop_reason: 'end_turn', stop_sequence: null, container: null, diagnostics: null, stop_details: null,
    usage: { input_tokens: 10, output_tokens: 5 },
    ...overrides,
  } as Message
}

interface Collected {
  chunks: ChatCompletionChunk[]
  content: string
  reasoning: string
  thinkingBlocks: unknown[]
  toolCalls: Array<{ id: string; name: string; arguments: string }>
  finish: string | null
  usageChunk: ChatCompletionChunk | undefined
}

function run(translator: AnthropicStreamTranslator, events: AnthropicStreamEvent[]): Collected {
  const chunks = events.flatMap((event) => translator.push(event))
  const out: Collected = { chunks, content: '', reasoning: '', thinkingBlocks: [], toolCalls: [], finish: null, usageChunk: undefined }
  for (const chunk of chunks) {
    if (chunk.usage) out.usageChunk = chunk
    for (const choice of chunk.choices) {
      const delta = choice.delta as ChunkDelta
      out.content += delta.content ?? ''
      out.reasoning += delta.reasoning_content ?? ''
      out.thinkingBlocks.push(...(delta.thinking_blocks ?? []))
      for (const call of delta.tool_calls ?? []) {
        const slot = (out.toolCalls[call.index] ??= { id: '', name: '', arguments: '' })
        slot.id += call.id ?? ''
        slot.name += call.function?.name ?? ''
        slot.arguments += call.function?.arguments ?? ''
      }
      if (choice.finish_reason) out.finish = choice.finish_reason
    }
  }
  return out
}

// ---------------------------------------------------------------- request: recorded fixtures

const WEATHER_TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the current weather in a given location',
      parameters: {
        type: 'object',
        properties: {
          location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'], description: "The unit of temperature, either 'celsius' or 'fahrenheit'" },
        },
        required: ['location'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      description: 'Get the current time in a given time zone',
      parameters: {
        type: 'object',
        properties: { timezone: { type: 'string', description: 'The IANA time zone name, e.g. America/Los_Angeles' } },
        required: ['timezone'],
      },
    },
  },
]

// The long prompts are taken from the recording; the OpenAI structure around them is hand-written.
function firstUserText(name: string): string {
  const content = recordedRequest(name).messages[0]?.content
  const block = Array.isArray(content) ? content[0] : undefined
  if (block?.type !== 'text') throw new Error(`${name}: expected a text block`)
  return block.text
}

function systemText(name: string): string {
  const system = recordedRequest(name).system
  const block = Array.isArray(system) ? system[0] : undefined
  if (!block) throw new Error(`${name}: expected a system block`)
  return block.text
}

const cachedArticles = (name: string) =>
  chat({
    max_tokens: 1024,
    messages: [
      { role: 'system', content: 'You help generate concise summaries of news articles and blog posts that user sends you.' },
      { role: 'user', content: [{ type: 'text', text: firstUserText(name), cache_control: { type: 'ephemeral' } }] },
    ],
  })

const REQUEST_CASES: Array<{ fixture: string; model: string; openai: () => ChatRequest }> = [
  {
    fixture: 'anthropic-messages-text-nonstream',
    model: 'claude-3-opus-20240229',
    openai: () => chat({ max_tokens: 1024, messages: [{ role: 'user', content: 'Tell me a joke about OpenTelemetry' }] }),
  },
  {
    fixture: 'anthropic-messages-text-nonstream-legacy-usage',
    model: 'claude-3-opus-20240229',
    openai: () => chat({ max_completion_tokens: 1024, messages: [{ role: 'user', content: 'Tell me a joke about OpenTelemetry' }] }),
  },
  {
    fixture: 'anthropic-messages-text-stream',
    model: 'claude-3-haiku-20240307',
    openai: () => chat({ stream: true, max_tokens: 1024, messages: [{ role: 'user', content: 'Tell me a joke about OpenTelemetry' }] }),
  },
  {
    fixture: 'anthropic-messages-error-401-authentication',
    model: 'claude-3-opus-20240229',
    openai: () =>
      chat({
        max_tokens: 15,
        temperature: 0.8,
        messages: [
          { role: 'system', content: 'Respond only in all caps.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Hello, I am looking for information about some books!' },
              { type: 'text', text: 'What is the best selling book?' },
            ],
          },
        ],
      }),
  },
  { fixture: 'anthropic-messages-cache-write-nonstream', model: 'claude-3-5-sonnet-20240620', openai: () => cachedArticles('anthropic-messages-cache-write-nonstream') },
  { fixture: 'anthropic-messages-cache-read-nonstream', model: 'claude-3-5-sonnet-20240620', openai: () => cachedArticles('anthropic-messages-cache-read-nonstream') },
  { fixture: 'anthropic-messages-cache-write-stream', model: 'claude-3-5-sonnet-20240620', openai: () => cachedArticles('anthropic-messages-cache-write-stream') },
  {
    fixture: 'anthropic-messages-cache-write-1h-ttl-nonstream',
    model: 'claude-sonnet-4-20250514',
    openai: () =>
      chat({
        max_tokens: 100,
        temperature: 0.1,
        messages: [
          {
            role: 'developer',
            content: [{ type: 'text', text: systemText('anthropic-messages-cache-write-1h-ttl-nonstream'), cache_control: { type: 'ephemeral', ttl: '1h' } }],
          },
          { role: 'user', content: 'What are the key principles for designing scalable systems?' },
        ],
      }),
  },
  {
    fixture: 'anthropic-messages-thinking-nonstream',
    model: 'claude-3-7-sonnet-20250219',
    openai: () =>
      chat({
        max_tokens: 2048,
        reasoning_effort: 'minimal',
        messages: [{ role: 'user', content: [{ type: 'text', text: "How many times does the letter 'r' appear in the word strawberry?" }] }],
      }),
  },
  {
    fixture: 'anthropic-messages-thinking-nonstream-opus41-beta',
    model: 'claude-opus-4-1-20250805',
    openai: () =>
      chat({ max_completion_tokens: 2048, reasoning_effort: 'minimal', messages: [{ role: 'user', content: 'What is 2+2? Think through this step by step.' }] }),
  },
  {
    fixture: 'anthropic-messages-tool-use-nonstream',
    model: 'claude-3-5-sonnet-20240620',
    openai: () =>
      chat({
        max_tokens: 1024,
        tools: WEATHER_TOOLS,
        messages: [{ role: 'user', content: 'What is the weather like right now in New York? Also what time is it there now?' }],
      }),
  },
  {
    fixture: 'anthropic-messages-tool-use-stream',
    model: 'claude-3-5-sonnet-20240620',
    openai: () =>
      chat({ stream: true, max_tokens: 1024, tools: WEATHER_TOOLS, messages: [{ role: 'user', content: 'What is the weather and current time in San Francisco?' }] }),
  },
]

t.test('requests translate to what the recorded clients sent', async (t) => {
  for (const { fixture, model, openai } of REQUEST_CASES) {
    const { params, forcedJsonTool } = toAnthropicRequest(openai(), model)
    t.same(essentials(params), essentials(recordedRequest(fixture)), fixture)
    t.equal(forcedJsonTool, undefined, `${fixture}: no JSON tool`)
  }
})

// ---------------------------------------------------------------- request: focused cases

t.test('a tool round trip: tool_use blocks, merged tool results, thinking blocks first', async (t) => {
  const { params } = toAnthropicRequest(
    chat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Use tools.' },
        { role: 'user', content: 'Weather and time in Paris?' },
        {
          role: 'assistant',
          content: 'Checking.',
          thinking_blocks: [
            { type: 'thinking', thinking: 'Two tools needed.', signature: 'sig-1' },
            { type: 'redacted_thinking', data: 'opaque' },
          ],
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
        { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '14:05' }] },
        { role: 'user', content: 'Thanks!' },
        { role: 'user', content: 'And tomorrow?' },
      ],
    }),
    'claude-sonnet-4-5',
  )
  t.same(params.system, [
    { type: 'text', text: 'Be brief.' },
    { type: 'text', text: 'Use tools.' },
  ])
  t.same(params.messages, [
    { role: 'user', content: 'Weather and time in Paris?' },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Two tools needed.', signature: 'sig-1' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' },
        { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '14:05' }] },
        { type: 'text', text: 'Thanks!' },
        { type: 'text', text: 'And tomorrow?' },
      ],
    },
  ])
})

t.test('caller-sized lists: 20,000 turns of one role merge into one, 200,000 system parts pass whole', async (t) => {
  // Issue 10: the merge copied the merged list every time (quadratic), and the system parts were
  // spread into a call (a stack overflow, a 500). Their timing is test/hardening/event-loop.test.ts.
  const many = Array.from({ length: 20_000 }, (_, i) => ({ role: 'user', content: `m${i}` }))
  const merged = toAnthropicRequest(chat({ messages: many }), 'claude-sonnet-4-5').params.messages
  t.equal(merged.length, 1, 'one user turn')
  const blocks = merged[0]?.content as Array<{ text: string }>
  t.equal(blocks.length, 20_000, 'every message a text block')
  t.same([blocks[0]?.text, blocks[9_999]?.text, blocks[19_999]?.text], ['m0', 'm9999', 'm19999'], 'in order')

  const parts = Array.from({ length: 200_000 }, (_, i) => ({ type: 'text', text: `s${i}` }))
  const { params } = toAnthropicRequest(chat({ messages: [{ role: 'system', content: parts }, { role: 'user', content: 'hi' }] }), 'claude-sonnet-4-5')
  t.equal(params.system?.length, 200_000)
  t.same((params.system as Array<{ text: string }>)[199_999], { type: 'text', text: 's199999' })

  const calls = Array.from({ length: 200_000 }, (_, i) => ({ id: `c${i}`, type: 'function', function: { name: 'f', arguments: '{}' } }))
  const withCalls = toAnthropicRequest(chat({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: calls }] }), 'claude-sonnet-4-5')
  t.equal((withCalls.params.messages[1]?.content as unknown[]).length, 200_000, '200,000 tool calls, 200,000 tool_use blocks')
})

t.test("merging turns leaves the caller's messages as they were", async (t) => {
  const first = [{ type: 'text', text: 'one' }]
  const messages = [
    { role: 'user', content: first },
    { role: 'user', content: 'two' },
    { role: 'user', content: [{ type: 'text', text: 'three' }] },
  ]
  const before = structuredClone(messages)
  const { params } = toAnthropicRequest(chat({ messages }), 'claude-sonnet-4-5')
  t.same(params.messages, [{ role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }, { type: 'text', text: 'three' }] }])
  t.same(messages, before, 'nothing appended to the caller\'s arrays')
  t.equal(first.length, 1)
})

t.test('an assistant turn with empty content and tool calls sends no empty text block', async (t) => {
  const { params } = toAnthropicRequest(
    chat({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'assistant', content: null },
      ],
    }),
    'claude-sonnet-4-5',
  )
  t.same(params.messages[1], { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] })
  t.equal(params.messages.length, 2)
})

t.test('images: data URLs become base64 sources, http(s) URLs url sources, anything else a 400', async (t) => {
  const { params } = toAnthropicRequest(
    chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: 'data:image/jpg;base64,AAAA', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' }, cache_control: { type: 'ephemeral' } },
          ],
        },
      ],
    }),
    'claude-sonnet-4-5',
  )
  t.same(params.messages[0]?.content, [
    { type: 'text', text: 'Compare' },
    { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAAA' } },
    { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' }, cache_control: { type: 'ephemeral' } },
  ])

  const pdf = toAnthropicRequest(
    chat({ messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }] }] }),
    'claude-sonnet-4-5',
  )
  t.same(pdf.params.messages[0]?.content, [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }])

  for (const url of ['ftp://example.com/cat.png', 'data:image/bmp;base64,AAAA', 'cat.png']) {
    t.match(
      thrown(() => toAnthropicRequest(chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] }), 'claude-sonnet-4-5')),
      { status: 400, kind: 'invalid_request', param: 'messages[0].content[0].image_url.url' },
      url,
    )
  }
})

t.test('invalid tool call arguments are a 400 naming the field', async (t) => {
  const request = chat({
    messages: [
      { role: 'user', content: 'Hi' },
      { role: 'user', content: 'Still there?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } },
          { id: 'b', type: 'function', function: { name: 'f', arguments: '{"unterminated": ' } },
        ],
      },
    ],
  })
  const error = thrown(() => toAnthropicRequest(request, 'claude-sonnet-4-5'))
  t.ok(error instanceof GatewayError)
  t.match(error, { status: 400, kind: 'invalid_request', param: 'messages[2].tool_calls[1].function.arguments' })
})

t.test('unsupported input is a 400 naming the field', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'custom', custom: { name: 'grammar' } }] }, 'tools[0].type'],
    [{ messages: [{ role: 'user', content: 'x' }], n: 2 }, 'n'],
    [{ messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'extreme' }, 'reasoning_effort'],
    [{ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] }] }, 'messages[0].content[0].type'],
    [{ messages: [{ role: 'assistant', content: 'x', thinking_blocks: [{ type: 'thinking', thinking: 'no signature' }] }] }, 'messages[0].thinking_blocks[0]'],
    [{ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema'],
    [{ messages: [{ role: 'user', content: 'x' }], tools: WEATHER_TOOLS, tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [] } } }, 'tool_choice'],
    [{ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
    [{ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'g', input: 'x' } }] }] }, 'messages[0].tool_calls[0].type'],
    [{ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'g', arguments: '[1]' } }] }] }, 'messages[0].tool_calls[0].function.arguments'],
    [{ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc' } }] }] }, 'messages[0].content[0].file'],
    [{ messages: [{ role: 'system', content: [{ type: 'text', text: 'x', cache_control: { type: 'persistent' } }] }] }, 'messages[0].content[0].cache_control'],
  ]
  for (const [body, param] of cases) {
    t.match(thrown(() => toAnthropicRequest(chat(body), 'claude-sonnet-4-5')), { status: 400, kind: 'invalid_request', param }, param)
  }
})

t.test('tool_choice and parallel_tool_calls map onto Anthropic tool_choice', async (t) => {
  const cases: Array<[unknown, boolean | undefined, unknown]> = [
    [undefined, undefined, undefined],
    ['auto', undefined, { type: 'auto' }],
    ['none', undefined, { type: 'none' }],
    ['required', undefined, { type: 'any' }],
    [{ type: 'function', function: { name: 'get_time' } }, undefined, { type: 'tool', name: 'get_time' }],
    [undefined, false, { type: 'auto', disable_parallel_tool_use: true }],
    ['required', false, { type: 'any', disable_parallel_tool_use: true }],
    ['none', false, { type: 'none' }],
    ['auto', true, { type: 'auto' }],
  ]
  for (const [toolChoice, parallel, expected] of cases) {
    const { params } = toAnthropicRequest(
      chat({ messages: [{ role: 'user', content: 'x' }], tools: WEATHER_TOOLS, tool_choice: toolChoice, parallel_tool_calls: parallel }),
      'claude-sonnet-4-5',
    )
    t.same(params.tool_choice, expected, `${JSON.stringify(toolChoice)} / parallel ${parallel}`)
  }
  const noTools = toAnthropicRequest(chat({ messages: [{ role: 'user', content: 'x' }], tool_choice: 'auto' }), 'claude-sonnet-4-5')
  t.equal(noTools.params.tool_choice, undefined, 'tool_choice without tools is not sent (Anthropic rejects it)')
  const bare = toAnthropicRequest(chat({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'ping' } }] }), 'claude-sonnet-4-5')
  t.same(bare.params.tools, [{ name: 'ping', input_schema: { type: 'object', properties: {} } }])
})

const PERSON_SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  required: ['name', 'age'],
}

t.test('response_format json_schema is honoured: natively where the model can, else through a forced tool', async (t) => {
  const body = {
    messages: [{ role: 'user', content: 'Invent a person.' }],
    response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON_SCHEMA, strict: true } },
  }
  const native = toAnthropicRequest(chat(body), 'claude-sonnet-4-5')
  t.equal(native.forcedJsonTool, undefined)
  t.equal(native.params.tools, undefined)
  t.same(native.params.output_config?.format, {
    type: 'json_schema',
    schema: {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer', description: '{minimum: 0}' } },
      additionalProperties: false,
      required: ['name', 'age'],
    },
  })

  const legacy = toAnthropicRequest(chat(body), 'claude-3-5-sonnet-20240620')
  t.equal(legacy.forcedJsonTool, JSON_RESPONSE_TOOL)
  t.equal(legacy.params.output_config, undefined)
  t.same(toolNames(legacy.params), [JSON_RESPONSE_TOOL])
  t.match(legacy.params.tools?.[0], { input_schema: PERSON_SCHEMA })
  t.same(legacy.params.tool_choice, { type: 'tool', name: JSON_RESPONSE_TOOL })

  // With the caller's tools the JSON tool is offered, not forced, so those stay usable.
  const withTools = toAnthropicRequest(chat({ ...body, tools: WEATHER_TOOLS }), 'claude-3-5-sonnet-20240620')
  t.same(toolNames(withTools.params), ['get_weather', 'get_time', JSON_RESPONSE_TOOL])
  t.equal(withTools.params.tool_choice, undefined)
  t.match(withTools.params.system?.at(-1), { text: /json_response/ })

  // tool_choice none forbids the caller's tools, not the answer: they go, the JSON tool is forced.
  const none = toAnthropicRequest(chat({ ...body, tools: WEATHER_TOOLS, tool_choice: 'none' }), 'claude-3-5-sonnet-20240620')
  t.same(toolNames(none.params), [JSON_RESPONSE_TOOL])
  t.same(none.params.tool_choice, { type: 'tool', name: JSON_RESPONSE_TOOL })

  // Forcing a tool is refused with thinking on: the model is asked instead.
  const thinking = toAnthropicRequest(chat({ ...body, reasoning_effort: 'low' }), 'claude-3-7-sonnet-20250219')
  t.equal(thinking.params.tool_choice, undefined)
  t.equal(thinking.forcedJsonTool, JSON_RESPONSE_TOOL)

  const untyped = { ...body, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { any: {} } } } } }
  t.match(thrown(() => toAnthropicRequest(chat(untyped), 'claude-sonnet-4-5')), { status: 400, param: 'response_format.json_schema.schema' })
})

t.test('response_format json_object: an instruction plus the JSON tool', async (t) => {
  const { params, forcedJsonTool } = toAnthropicRequest(
    chat({ messages: [{ role: 'system', content: 'You list fruit.' }, { role: 'user', content: 'Three fruits.' }], response_format: { type: 'json_object' } }),
    'claude-sonnet-4-5',
  )
  t.equal(forcedJsonTool, JSON_RESPONSE_TOOL)
  t.equal(params.system?.length, 2)
  t.match(params.system?.[1], { type: 'text', text: /JSON object/ })
  t.same(params.tool_choice, { type: 'tool', name: JSON_RESPONSE_TOOL })
  t.match(params.tools?.[0], { name: JSON_RESPONSE_TOOL, input_schema: { type: 'object' } })
})

t.test('reasoning_effort turns thinking on, keeps room for the answer, drops sampling', async (t) => {
  const body = { messages: [{ role: 'user', content: 'x' }], temperature: 0.2, top_p: 0.9 }
  const low = toAnthropicRequest(chat({ ...body, reasoning_effort: 'low' }), 'claude-sonnet-4-5').params
  t.same(low.thinking, { type: 'enabled', budget_tokens: 2048 })
  t.equal(low.max_tokens, 4096)
  t.equal(low.temperature, undefined)
  t.equal(low.top_p, undefined)

  const high = toAnthropicRequest(chat({ ...body, reasoning_effort: 'high' }), 'claude-sonnet-4-5').params
  t.same(high.thinking, { type: 'enabled', budget_tokens: 16384 })
  t.equal(high.max_tokens, 16384 + 4096, 'max_tokens raised above the budget')

  const small = toAnthropicRequest(chat({ ...body, reasoning_effort: 'medium', max_completion_tokens: 500 }), 'claude-sonnet-4-5').params
  t.equal(small.max_tokens, 8192 + 500)

  const adaptive = toAnthropicRequest(chat({ ...body, reasoning_effort: 'high' }), 'claude-opus-4-8').params
  t.same(adaptive.thinking, { type: 'adaptive', display: 'summarized' })
  t.same(adaptive.output_config, { effort: 'high' })

  const none = toAnthropicRequest(chat({ ...body, reasoning_effort: 'none' }), 'claude-sonnet-4-5').params
  t.equal(none.thinking, undefined)
  t.equal(none.temperature, 0.2)
  t.equal(none.top_p, 0.9)

  const current = toAnthropicRequest(chat(body), 'claude-opus-4-8').params
  t.equal(current.temperature, undefined, 'models that reject sampling parameters do not get them')
  const overridden = toAnthropicRequest(chat(body), 'my-claude-alias', { traits: { sampling: true } }).params
  t.equal(overridden.temperature, 0.2)
})

t.test('stop, user, max_tokens default; fields without an Anthropic equivalent are dropped', async (t) => {
  const { params } = toAnthropicRequest(
    chat({
      messages: [{ role: 'user', content: 'x' }],
      stop: 'END',
      user: 'user-42',
      seed: 7,
      metadata: { team: 'a' },
      logprobs: true,
      frequency_penalty: 0.5,
      presence_penalty: 0.5,
      service_tier: 'auto',
      store: true,
      stream_options: { include_usage: true },
    }),
    'claude-sonnet-4-5',
    { defaultMaxTokens: 1000 },
  )
  t.same(params, {
    model: 'claude-sonnet-4-5',
    max_tokens: 1000,
    messages: [{ role: 'user', content: 'x' }],
    stop_sequences: ['END'],
    metadata: { user_id: 'user-42' },
  })
  const many = toAnthropicRequest(chat({ messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b'] }), 'claude-sonnet-4-5')
  t.same(many.params.stop_sequences, ['a', 'b'])
  t.equal(many.params.max_tokens, 4096)
})

// ---------------------------------------------------------------- response: recorded fixtures

const RESPONSE_CASES: Array<{ fixture: string; finish: string; tools?: Array<{ name: string; input: unknown }>; reasoning?: boolean }> = [
  { fixture: 'anthropic-messages-text-nonstream', finish: 'stop' },
  { fixture: 'anthropic-messages-text-nonstream-legacy-usage', finish: 'stop' },
  { fixture: 'anthropic-messages-cache-write-nonstream', finish: 'stop' },
  { fixture: 'anthropic-messages-cache-read-nonstream', finish: 'stop' },
  { fixture: 'anthropic-messages-cache-write-1h-ttl-nonstream', finish: 'length' },
  { fixture: 'anthropic-messages-thinking-nonstream', finish: 'stop', reasoning: true },
  { fixture: 'anthropic-messages-thinking-nonstream-opus41-beta', finish: 'stop', reasoning: true },
  {
    fixture: 'anthropic-messages-tool-use-nonstream',
    finish: 'tool_calls',
    tools: [
      { name: 'get_weather', input: { location: 'New York, NY', unit: 'fahrenheit' } },
      { name: 'get_time', input: { timezone: 'America/New_York' } },
    ],
  },
]

t.test('every recorded answer translates to a chat.completion with SPEC usage', async (t) => {
  for (const { fixture, finish, tools = [], reasoning = false } of RESPONSE_CASES) {
    const recorded = recordedMessage(fixture)
    const meta = loadFixture(fixture).meta
    const { body, usage } = fromAnthropicMessage(recorded)
    const choice = body.choices[0]
    const text = recorded.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('')

    t.match(body, { id: recorded.id, object: 'chat.completion', model: meta.summary.model }, fixture)
    t.ok(Math.abs(body.created - Date.now() / 1000) < 5, `${fixture}: created is now, in seconds`)
    t.equal(body.choices.length, 1)
    t.equal(choice?.finish_reason, finish, `${fixture}: finish_reason`)
    t.equal(choice?.message.content, text, `${fixture}: content`)
    t.equal(choice?.message.refusal, null)
    t.same(
      choice?.message.tool_calls?.map((call) => (call.type === 'function' ? { name: call.function.name, input: JSON.parse(call.function.arguments) } : call)),
      tools.length > 0 ? tools : undefined,
      `${fixture}: tool_calls`,
    )
    const thinking = recorded.content.find((block) => block.type === 'thinking')
    const message = choice?.message as { reasoning_content?: string; thinking_blocks?: unknown[] } | undefined
    if (reasoning) {
      t.ok(thinking, `${fixture}: recorded a thinking block`)
      t.equal(message?.reasoning_content, thinking?.type === 'thinking' ? thinking.thinking : undefined, `${fixture}: reasoning_content`)
      t.same(message?.thinking_blocks, [thinking], `${fixture}: thinking_blocks round-trip with the signature`)
    } else {
      t.notOk(message && 'reasoning_content' in message, `${fixture}: no reasoning_content`)
      t.notOk(message && 'thinking_blocks' in message, `${fixture}: no thinking_blocks`)
    }

    const expected = specUsage(meta.usage ?? {})
    t.same(body.usage, expected, `${fixture}: OpenAI usage`)
    const oneHour = (meta.usage?.cache_creation as { ephemeral_1h_input_tokens?: number } | undefined)?.ephemeral_1h_input_tokens ?? 0
    t.same(usage, {
      input: expected.prompt_tokens,
      output: expected.completion_tokens,
      cacheRead: expected.cache_read_input_tokens,
      cacheWrite: expected.cache_creation_input_tokens,
      cacheWrite1h: oneHour,
      reasoning: 0,
    }, `${fixture}: gateway usage`)
  }
})

t.test('cache tokens are part of prompt_tokens (the recorded cache read and 1h write)', async (t) => {
  t.match(fromAnthropicMessage(recordedMessage('anthropic-messages-cache-read-nonstream')).body.usage, {
    prompt_tokens: 1167,
    prompt_tokens_details: { cached_tokens: 1163 },
    completion_tokens: 202,
  })
  t.match(fromAnthropicMessage(recordedMessage('anthropic-messages-cache-write-1h-ttl-nonstream')).usage, {
    input: 2073,
    cacheWrite: 2056,
    cacheWrite1h: 2056,
  })
})

t.test('stop reasons, the JSON tool, and reported thinking tokens', async (t) => {
  const reasons: Array<[Message['stop_reason'], string]> = [
    ['end_turn', 'stop'], ['stop_sequence', 'stop'], ['max_tokens', 'length'], ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'], ['pause_turn', 'stop'], ['model_context_window_exceeded', 'length'], [null, 'stop'],
  ]
  for (const [stopReason, finish] of reasons) {
    t.equal(fromAnthropicMessage(message({ stop_reason: stopReason })).body.choices[0]?.finish_reason, finish, String(stopReason))
  }
  t.equal(fromAnthropicMessage(message({})).body.choices[0]?.message.content, null, 'no text → content null')

  const json = message({
    stop_reason: 'tool_use',
    content: [{ type: 'tool_use', id: 'toolu_j', name: JSON_RESPONSE_TOOL, input: { name: 'Ada', age: 36 }, caller: { type: 'direct' } }],
  } as Partial<Message>)
  const answer = fromAnthropicMessage(json, { forcedJsonTool: JSON_RESPONSE_TOOL }).body.choices[0]
  t.same(JSON.parse(answer?.message.content ?? ''), { name: 'Ada', age: 36 })
  t.equal(answer?.finish_reason, 'stop')
  t.equal(answer?.message.tool_calls, undefined)

  const reasoning = fromAnthropicMessage(message({ usage: { input_tokens: 10, output_tokens: 50, output_tokens_details: { thinking_tokens: 30 } } as Message['usage'] }))
  t.equal(reasoning.usage?.reasoning, 30)
  t.same(reasoning.body.usage?.completion_tokens_details, { reasoning_tokens: 30 })
})

// ---------------------------------------------------------------- stream: recorded fixtures

const STREAM_CASES: Array<{
  fixture: string
  content: RegExp | string
  finish: string
  tools?: Array<{ id: string; name: string; input: unknown }>
}> = [
  { fixture: 'anthropic-messages-text-stream', content: /^Here's an .*hear any other tech-themed jokes!$/s, finish: 'stop' },
  { fixture: 'anthropic-messages-cache-write-stream', content: /^Here are concise summaries.*long-term payoffs\.$/s, finish: 'stop' },
  {
    fixture: 'anthropic-messages-tool-use-stream',
    content:
      "Certainly! I can help you with that information. To get the weather and current time in San Francisco, I'll need to use two separate functions. Let me fetch that data for you.",
    finish: 'tool_calls',
    tools: [
      { id: 'toolu_014x5X91kx3fvdhpLvwXZWE2', name: 'get_weather', input: { location: 'San Francisco, CA', unit: 'celsius' } },
      { id: 'toolu_0121kXsENLvoDZ72LCuAnCCz', name: 'get_time', input: { timezone: 'America/Los_Angeles' } },
    ],
  },
]

t.test('recorded streams translate to chunks, and streamed usage equals non-streamed usage', async (t) => {
  for (const { fixture, content, finish, tools = [] } of STREAM_CASES) {
    const events = await recordedEvents(fixture)
    const translator = new AnthropicStreamTranslator()
    const out = run(translator, events)
    const start = events[0]
    if (start?.type !== 'message_start') throw new Error(`${fixture}: no message_start`)

    for (const chunk of out.chunks) {
      t.match(chunk, { id: start.message.id, object: 'chat.completion.chunk', model: start.message.model, created: Number })
    }
    t.same(out.chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' }, `${fixture}: first chunk`)
    t.match(out.content, content, `${fixture}: content`)
    t.equal(out.finish, finish, `${fixture}: finish_reason`)
    t.same(
      out.toolCalls.map((call) => ({ id: call.id, name: call.name, input: JSON.parse(call.arguments) })),
      tools,
      `${fixture}: tool calls`,
    )

    // The usage chunk comes last, alone, without choices.
    t.equal(out.chunks.at(-1), out.usageChunk, `${fixture}: usage chunk last`)
    t.same(out.usageChunk?.choices, [])

    // Same numbers through the non-streaming path: message_start's usage with the final output.
    const recorded = loadFixture(fixture).meta.usage as Record<string, Record<string, unknown>>
    const finalUsage = { ...recorded['message_start.message.usage'], ...recorded['message_delta.usage'] }
    const nonStreamed = fromAnthropicMessage(message({ usage: finalUsage as unknown as Message['usage'] }))
    t.same(out.usageChunk?.usage, nonStreamed.body.usage, `${fixture}: usage chunk == non-streamed usage`)
    t.same(translator.usage(), nonStreamed.usage, `${fixture}: usage() == non-streamed usage`)
    t.same(out.usageChunk?.usage, specUsage(finalUsage), `${fixture}: SPEC formula`)
  }
})

t.test('the cache write of the recorded stream is counted once, from message_start', async (t) => {
  const translator = new AnthropicStreamTranslator()
  run(translator, await recordedEvents('anthropic-messages-cache-write-stream'))
  t.same(translator.usage(), { input: 1169, output: 201, cacheRead: 0, cacheWrite: 1165, cacheWrite1h: 0, reasoning: 0 })
})

// ---------------------------------------------------------------- stream: synthetic events

function start(usage: Partial<AnthropicUsageNumbers>): AnthropicStreamEvent {
  return { type: 'message_start', message: message({ id: 'msg_s', model: 'claude-s', usage: { input_tokens: 0, output_tokens: 1, ...usage } as Message['usage'] }) }
}

function delta(stopReason: string, usage: Record<string, unknown>): AnthropicStreamEvent {
  return { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage } as unknown as AnthropicStreamEvent
}

const block = (index: number, content_block: Record<string, unknown>) =>
  ({ type: 'content_block_start', index, content_block }) as unknown as AnthropicStreamEvent
const blockDelta = (index: number, d: Record<string, unknown>) =>
  ({ type: 'content_block_delta', index, delta: d }) as unknown as AnthropicStreamEvent

t.test('message_delta usage: null or missing fields keep message_start values', async (t) => {
  const translator = new AnthropicStreamTranslator()
  const out = run(translator, [
    start({ input_tokens: 100, cache_read_input_tokens: 2000, cache_creation_input_tokens: 50, cache_creation: { ephemeral_1h_input_tokens: 50 } }),
    delta('end_turn', { input_tokens: null, output_tokens: 300 }),
    { type: 'message_stop' },
  ])
  const expected: AnthropicUsageNumbers = { input_tokens: 100, cache_read_input_tokens: 2000, cache_creation_input_tokens: 50, cache_creation: { ephemeral_1h_input_tokens: 50 }, output_tokens: 300 }
  t.same(out.usageChunk?.usage, toOpenAIUsage(expected))
  t.equal(out.usageChunk?.usage?.prompt_tokens, 2150)
  t.same(translator.usage(), { input: 2150, output: 300, cacheRead: 2000, cacheWrite: 50, cacheWrite1h: 50, reasoning: 0 })
  t.same(translator.usage(), toGatewayUsage(expected))
})

t.test('message_delta usage: later non-null values replace earlier ones (never add)', async (t) => {
  const translator = new AnthropicStreamTranslator()
  const out = run(translator, [
    start({ input_tokens: 100, cache_read_input_tokens: 2000, cache_creation_input_tokens: 50 }),
    delta('end_turn', { input_tokens: 120, cache_read_input_tokens: 2100, cache_creation_input_tokens: null, output_tokens: 300 }),
    delta('end_turn', { output_tokens: 310 }),
    { type: 'message_stop' },
  ])
  t.match(out.usageChunk?.usage, { prompt_tokens: 120 + 2100 + 50, completion_tokens: 310, prompt_tokens_details: { cached_tokens: 2100 } })
  t.match(translator.usage(), { input: 2270, output: 310, cacheRead: 2100, cacheWrite: 50 })
})

t.test('thinking streams as reasoning_content; a signed block is sent whole for round trips', async (t) => {
  const out = run(new AnthropicStreamTranslator(), [
    start({ input_tokens: 5 }),
    block(0, { type: 'thinking', thinking: '', signature: '' }),
    blockDelta(0, { type: 'thinking_delta', thinking: 'Let me ' }),
    blockDelta(0, { type: 'thinking_delta', thinking: 'think.' }),
    blockDelta(0, { type: 'signature_delta', signature: 'sig-9' }),
    { type: 'content_block_stop', index: 0 },
    block(1, { type: 'redacted_thinking', data: 'opaque' }),
    block(2, { type: 'text', text: '' }),
    blockDelta(2, { type: 'text_delta', text: 'Answer.' }),
    { type: 'ping' },
    delta('end_turn', { output_tokens: 20 }),
    { type: 'message_stop' },
  ])
  t.equal(out.reasoning, 'Let me think.')
  t.same(out.thinkingBlocks, [
    { type: 'thinking', thinking: 'Let me think.', signature: 'sig-9' },
    { type: 'redacted_thinking', data: 'opaque' },
  ])
  t.equal(out.content, 'Answer.')
  t.equal(out.finish, 'stop')
})

t.test('the forced JSON tool streams as content and finishes with stop', async (t) => {
  const out = run(new AnthropicStreamTranslator({ forcedJsonTool: JSON_RESPONSE_TOOL }), [
    start({ input_tokens: 5 }),
    block(0, { type: 'text', text: '' }),
    blockDelta(0, { type: 'text_delta', text: 'Here you go:' }),
    block(1, { type: 'tool_use', id: 'toolu_j', name: JSON_RESPONSE_TOOL, input: {} }),
    blockDelta(1, { type: 'input_json_delta', partial_json: '' }),
    blockDelta(1, { type: 'input_json_delta', partial_json: '{"name": "Ada",' }),
    blockDelta(1, { type: 'input_json_delta', partial_json: ' "age": 36}' }),
    delta('tool_use', { output_tokens: 20 }),
    { type: 'message_stop' },
  ])
  t.same(JSON.parse(out.content), { name: 'Ada', age: 36 }, 'text around the JSON answer is dropped, as in the non-streamed answer')
  t.same(out.toolCalls, [])
  t.equal(out.finish, 'stop')

  const plain = run(new AnthropicStreamTranslator({ forcedJsonTool: JSON_RESPONSE_TOOL }), [
    start({ input_tokens: 5 }),
    block(0, { type: 'text', text: '' }),
    blockDelta(0, { type: 'text_delta', text: '{"a": 1}' }),
    delta('end_turn', { output_tokens: 3 }),
  ])
  t.equal(plain.content, '{"a": 1}', 'text held back in JSON mode is released when no JSON tool came')
})

t.test('ping yields nothing; an error event throws the upstream\'s error, for the adapter to classify', async (t) => {
  const translator = new AnthropicStreamTranslator()
  t.same(translator.push({ type: 'ping' }), [])
  t.equal(translator.usage(), undefined, 'no usage before message_start')
  const error = thrown(() => translator.push({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }))
  t.ok(error instanceof UpstreamStreamError)
  t.match(error, { message: 'Overloaded', error: { type: 'overloaded_error' } })
})
