// The official Anthropic SDK (default settings but the base URL and the gateway key) against
// POST /v1/messages with OpenAI models: translated to Chat Completions and back, the emulated
// OpenAI replaying OpenAI's recordings. For every recording with usage, `messages.create` and
// `messages.stream()` + `finalMessage()` give the same Message and the same usage, which is
// OpenAI's count (input without the cached part, cache reads, output), priced; the streamed final
// `message_delta` carries the full usage, input_tokens included (the point: real numbers, not
// zeros). Then a tool round trip and an image, as the chat request OpenAI receives.
import t from 'tap'
import Anthropic from '@anthropic-ai/sdk'
import type { MessageParam, Tool, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import { loadFixture } from '../support/fixtures.ts'
import { startObservedGateway } from '../telemetry/helpers.ts'
import { GATEWAY_KEY, PNG_BASE64, type Json } from '../messages/helpers.ts'
import { countedUsage } from './helpers.ts'

t.setTimeout(180_000)

const { gateway, upstream } = await startObservedGateway(t, { GATEWAY_API_KEYS: GATEWAY_KEY })
t.beforeEach(() => upstream.reset())
const client = new Anthropic({ baseURL: gateway.url, apiKey: GATEWAY_KEY })

interface Expected {
  /** OpenAI's prompt_tokens less its cached_tokens: Anthropic's input_tokens excludes cache reads. */
  input: number
  cacheRead: number
  output: number
  reasoning: number
  costUsd: number
}

// OpenAI's counts in each recording, and their cost for the model the recorded request names
// (USD per million tokens from src/providers/openai/prices.ts, as in test/usage/fixtures.test.ts).
const EXPECTED: Record<string, Expected> = {
  // gpt-3.5-turbo $0.5 / $1.5: 15 × 0.5 + 19 × 1.5 = 36 µ$
  'openai-chat-text-nonstream': { input: 15, cacheRead: 0, output: 19, reasoning: 0, costUsd: 0.000036 },
  // gpt-4o-mini $0.15 / $0.6: 23 × 0.15 + 8 × 0.6 = 8.25 µ$
  'openai-chat-text-stream-include-usage': { input: 23, cacheRead: 0, output: 8, reasoning: 0, costUsd: 0.00000825 },
  // gpt-4 $30 / $60: 67 × 30 + 18 × 60 = 3090 µ$
  'openai-chat-tool-call-nonstream': { input: 67, cacheRead: 0, output: 18, reasoning: 0, costUsd: 0.00309 },
  // gpt-4o-mini: 59 × 0.15 + 17 × 0.6 = 19.05 µ$
  'openai-chat-tool-call-stream-include-usage': { input: 59, cacheRead: 0, output: 17, reasoning: 0, costUsd: 0.00001905 },
  // gpt-3.5-turbo: 70 × 0.5 + 46 × 1.5 = 104 µ$
  'openai-chat-parallel-tool-calls-nonstream': { input: 70, cacheRead: 0, output: 46, reasoning: 0, costUsd: 0.000104 },
  // gpt-4o-mini, cached $0.075: 125 × 0.15 + 1024 × 0.075 + 353 × 0.6 = 307.35 µ$
  'openai-chat-prompt-cache-hit-nonstream': { input: 1149 - 1024, cacheRead: 1024, output: 353, reasoning: 0, costUsd: 0.00030735 },
  // gpt-5-nano $0.05 / $0.4: 11 × 0.05 + 138 × 0.4 = 55.75 µ$ (128 of the 138 are reasoning)
  'openai-chat-reasoning-tokens-nonstream': { input: 11, cacheRead: 0, output: 138, reasoning: 128, costUsd: 0.00005575 },
}

const recordedRequest = (name: string) => JSON.parse(loadFixture(name).request.body) as Json

/** The recorded chat request as the Anthropic SDK would send it: its model, its tools, one user turn. */
function params(name: string): Anthropic.MessageCreateParamsNonStreaming {
  const request = recordedRequest(name)
  const tools = ((request.tools ?? []) as Array<{ function: { name: string; description?: string; parameters: Tool['input_schema'] } }>).map(
    ({ function: fn }): Tool => ({ name: fn.name, description: fn.description ?? '', input_schema: fn.parameters }),
  )
  return {
    model: String(request.model),
    max_tokens: 1000,
    messages: [{ role: 'user', content: 'Hello' }],
    ...(tools.length > 0 && { tools }),
  }
}

/** The recorded chat answer's message (a recorded stream's text and tool calls, assembled). */
function recordedChoice(name: string): { content: string | null; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> } {
  const body = jsonReply(name)
  const completion = JSON.parse('fixture' in body ? loadFixture(body.fixture).response.body : String(body.body)) as Json
  return (completion.choices as Array<{ message: never }>)[0]!.message
}

t.test('the expectations match the recordings', async (t) => {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    const usage = loadFixture(name).meta.usage as { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number }; completion_tokens_details: { reasoning_tokens: number } }
    t.strictSame(
      { input: usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens, cacheRead: usage.prompt_tokens_details.cached_tokens, output: usage.completion_tokens, reasoning: usage.completion_tokens_details.reasoning_tokens },
      { input: expected.input, cacheRead: expected.cacheRead, output: expected.output, reasoning: expected.reasoning },
      name,
    )
  }
})

for (const [name, expected] of Object.entries(EXPECTED)) {
  t.test(`${name}: create and stream() give the same Message, OpenAI's usage, priced`, async (t) => {
    const request = params(name)
    const choice = recordedChoice(name)
    upstream.enqueue(jsonReply(name))
    const plain = await client.messages.create(request)
    const usage = {
      input_tokens: expected.input,
      output_tokens: expected.output,
      cache_read_input_tokens: expected.cacheRead,
      cache_creation_input_tokens: 0,
    }
    t.match(plain.usage, { ...usage, cost_usd: expected.costUsd }, "OpenAI's count in Anthropic's words, and its cost")
    if (expected.reasoning > 0) t.match(plain.usage, { output_tokens_details: { thinking_tokens: expected.reasoning } }, 'reasoning tokens as thinking tokens')
    const text = plain.content.filter((block) => block.type === 'text').map((block) => block.text).join('')
    t.equal(text, choice.content ?? '', 'the text OpenAI wrote')
    const calls = plain.content.flatMap((block) => (block.type === 'tool_use' ? [{ id: block.id, name: block.name, input: block.input }] : []))
    t.strictSame(
      calls,
      (choice.tool_calls ?? []).map((call) => ({ id: call.id, name: call.function.name, input: JSON.parse(call.function.arguments) as unknown })),
      'each tool call a tool_use block, its id and parsed arguments',
    )
    t.equal(plain.stop_reason, calls.length > 0 ? 'tool_use' : 'end_turn')

    upstream.enqueue(sseReply(name))
    const stream = client.messages.stream(request)
    let start: Json | undefined
    let delta: Json | undefined
    stream.on('streamEvent', (event) => {
      if (event.type === 'message_start') start = event.message.usage as unknown as Json
      if (event.type === 'message_delta') delta = event.usage as unknown as Json
    })
    const final = await stream.finalMessage()
    const counted = countedUsage(plain.usage)
    t.strictSame(final.content, plain.content, 'finalMessage(): the same content')
    t.strictSame(final.usage, counted, 'the same usage')
    t.equal(final.stop_reason, plain.stop_reason)
    t.match(delta, { ...usage, cost_usd: expected.costUsd }, 'the final message_delta carries the full usage, input_tokens included, and the cost')
    t.type(start?.input_tokens, 'number', 'message_start carries a usage too (what is known before OpenAI counts: OpenAI counts at the end)')

    const [toPlain, toStreamed] = await upstream.waitForRequests(2)
    t.equal(toPlain!.path, '/v1/chat/completions')
    t.match(toStreamed!.body, { model: request.model, stream: true, stream_options: { include_usage: true } }, 'the gateway asks OpenAI for the stream usage')
  })
}

t.test('a tool round trip to gpt-4o-mini: tool_use → tool_result → answer, as chat messages OpenAI understands', async (t) => {
  const request = params('openai-chat-tool-call-stream-include-usage')
  upstream.enqueue(sseReply('openai-chat-tool-call-stream-include-usage'))
  const first = await client.messages.stream(request).finalMessage()
  const call = first.content.find((block) => block.type === 'tool_use')
  t.match(call, { type: 'tool_use', id: String, name: 'multiply', input: Object })
  const result: ToolResultBlockParam = { type: 'tool_result', tool_use_id: call!.id, content: '42' }
  upstream.enqueue(jsonReply('openai-chat-text-nonstream'))
  const answer = await client.messages.create({
    ...request,
    messages: [...request.messages, { role: 'assistant', content: first.content }, { role: 'user', content: [result] }],
  })
  t.equal(answer.stop_reason, 'end_turn')
  t.equal(answer.content[0]?.type, 'text')
  const sent = upstream.requests[1]!.body as { messages: Json[]; tools: Json[] }
  t.strictSame(sent.tools, recordedRequest('openai-chat-tool-call-stream-include-usage').tools, 'the tools as OpenAI was first sent them')
  const assistant = sent.messages.find((m) => m.role === 'assistant') as { tool_calls: Array<{ id: string; type: string; function: { name: string; arguments: string } }> }
  t.match(assistant.tool_calls, [{ id: call!.id, type: 'function', function: { name: 'multiply' } }], "the tool_use as the assistant's tool call")
  t.strictSame(JSON.parse(assistant.tool_calls[0]!.function.arguments), call!.input, 'its arguments')
  t.match(sent.messages.at(-1), { role: 'tool', tool_call_id: call!.id, content: '42' }, 'the tool_result as a tool message')
})

t.test('a base64 image to gpt-4o-mini: an image_url data URL', async (t) => {
  const data = PNG_BASE64
  upstream.enqueue(jsonReply('openai-chat-text-nonstream'))
  const content: MessageParam['content'] = [
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data } },
    { type: 'text', text: 'What is in this image?' },
  ]
  const message = await client.messages.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content }] })
  t.equal(message.type, 'message')
  const sent = upstream.requests[0]!.body as { messages: Array<{ content: unknown }> }
  t.match(sent.messages[0]!.content, [{ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }, { type: 'text', text: 'What is in this image?' }])
})
