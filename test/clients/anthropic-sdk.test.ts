// The official Anthropic SDK (`@anthropic-ai/sdk`, default settings but the base URL and the gateway
// key) against POST /v1/messages, to Anthropic (a passthrough, the emulator replaying Anthropic's
// recordings) and to the offline demo (translated from chat). What a user of the SDK relies on: a
// tool round trip, thinking blocks with their signatures sent back on the next turn byte for byte,
// images, countTokens, and a streamed answer (`messages.stream()` + `finalMessage()`) equal to
// the non-streamed one, usage included. The same SDK against OpenAI models is in
// anthropic-sdk-translated.test.ts. (test/messages/passthrough.test.ts has the smoke test.)
import t from 'tap'
import Anthropic from '@anthropic-ai/sdk'
import type { ContentBlock, Message, MessageParam, Tool, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages'
import { anthropicSseToMessage, jsonReply, sseReply } from '../support/fixture-variants.ts'
import { loadFixture } from '../support/fixtures.ts'
import { startObservedGateway } from '../telemetry/helpers.ts'
import { GATEWAY_KEY, PNG_BASE64, type Json } from '../messages/helpers.ts'
import { countedUsage as counted, DEMO_LABEL } from './helpers.ts'

t.setTimeout(180_000)

const { gateway, upstream } = await startObservedGateway(t, { GATEWAY_API_KEYS: GATEWAY_KEY })
t.beforeEach(() => upstream.reset())
const client = new Anthropic({ baseURL: gateway.url, apiKey: GATEWAY_KEY })

/** The recorded request (tools, thinking …) of a recording. */
const recordedRequest = (name: string) => JSON.parse(loadFixture(name).request.body) as Json
/** The Message Anthropic sent in a recording (a recorded stream accumulated). */
function recordedMessage(name: string): Message {
  const { response, meta } = loadFixture(name)
  return (meta.response_is_sse ? anthropicSseToMessage(response.body) : JSON.parse(response.body)) as Message
}
/** The body of the `n`th request the emulator received. */
const sentBody = (n: number) => upstream.requests[n]!.body as Json & { messages: Array<{ role: string; content: unknown }> }

/** messages.stream() to the end: the final Message and the cost the last message_delta carried. */
async function streamed(params: Anthropic.MessageStreamParams): Promise<{ message: Message; cost: unknown; deltaUsage: Json | undefined }> {
  const stream = client.messages.stream(params)
  let deltaUsage: Json | undefined
  stream.on('streamEvent', (event) => {
    if (event.type === 'message_delta') deltaUsage = event.usage as unknown as Json
  })
  const message = await stream.finalMessage()
  return { message, cost: deltaUsage?.cost_usd, deltaUsage }
}

const toolResults = (content: ContentBlock[], answer: (name: string) => string): ToolResultBlockParam[] =>
  content.flatMap((block) => (block.type === 'tool_use' ? [{ type: 'tool_result' as const, tool_use_id: block.id, content: answer(block.name) }] : []))

t.test('to Anthropic: a tool round trip, streamed equal to not streamed, the tool_use blocks sent back as received', async (t) => {
  const request = recordedRequest('anthropic-messages-tool-use-stream')
  const params = {
    model: 'claude-3-5-sonnet-20240620',
    max_tokens: 1024,
    tools: request.tools as Tool[],
    messages: [{ role: 'user', content: 'What is the weather and current time in San Francisco?' }] as MessageParam[],
  }
  const recorded = recordedMessage('anthropic-messages-tool-use-stream')

  upstream.enqueue(sseReply('anthropic-messages-tool-use-stream'))
  const first = await streamed(params)
  t.strictSame(first.message.content, recorded.content, 'finalMessage() holds the recorded text and tool_use blocks (input JSON reassembled)')
  t.strictSame(first.message.usage, recorded.usage, "finalMessage()'s usage is Anthropic's (message_start's input, message_delta's output)")
  t.equal(first.message.stop_reason, 'tool_use')
  t.equal(first.cost, 0.003813, 'the final message_delta carries usage.cost_usd (506 × $3 + 153 × $15 per million)')

  upstream.enqueue(jsonReply('anthropic-messages-tool-use-stream'))
  const plain = await client.messages.create(params)
  t.strictSame(plain.content, first.message.content, 'messages.create: the same content')
  t.strictSame(counted(plain.usage), first.message.usage, 'the same usage')
  t.equal((plain.usage as { cost_usd?: number }).cost_usd, first.cost, 'the same cost')

  const results = toolResults(first.message.content, (name) => (name === 'get_weather' ? '18°C, fog' : '14:05 PST'))
  t.equal(results.length, 2, 'two tools called')
  upstream.enqueue(jsonReply('anthropic-messages-text-nonstream'))
  const answer = await client.messages.create({
    ...params,
    messages: [...params.messages, { role: 'assistant', content: first.message.content }, { role: 'user', content: results }],
  })
  t.equal(answer.content[0]?.type, 'text', 'the answer after the tool results')
  const second = sentBody(2)
  t.strictSame(second.messages[1], { role: 'assistant', content: recorded.content }, "Claude's turn went back to Anthropic as Anthropic sent it")
  t.strictSame(second.messages[2], { role: 'user', content: results }, 'and the tool results as the SDK sent them')
  t.strictSame(second.tools, request.tools)
})

for (const [name, streaming] of [
  ['anthropic-messages-thinking-nonstream-opus41-beta', false],
  ['anthropic-messages-thinking-nonstream', true],
] as const) {
  t.test(`to Anthropic: thinking (${streaming ? 'streamed' : 'not streamed'}) goes back on the next turn with its signature, byte for byte`, async (t) => {
    const request = recordedRequest(name)
    const recorded = recordedMessage(name)
    const thinking = recorded.content.find((block) => block.type === 'thinking')!
    t.match(thinking, { signature: /^.{40,}$/ }, '(the recording has a signed thinking block)')
    const params = {
      model: String(request.model),
      max_tokens: 2048,
      thinking: { type: 'enabled' as const, budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'What is 2+2? Think through this step by step.' }] as MessageParam[],
    }
    const options = { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } }
    upstream.enqueue(streaming ? sseReply(name) : jsonReply(name))
    const first = streaming ? (await streamed(params)).message : await client.messages.create(params, options)
    t.strictSame(first.content, recorded.content, 'the thinking block, its signature and the text as Anthropic sent them')

    upstream.enqueue(jsonReply('anthropic-messages-text-nonstream'))
    await client.messages.create({ ...params, messages: [...params.messages, { role: 'assistant', content: first.content }, { role: 'user', content: 'And 3+3?' }] }, options)
    const [, second] = await upstream.waitForRequests(2)
    t.ok(second!.rawBody.includes(JSON.stringify(thinking)), 'the second request that reached Anthropic carries the thinking block byte for byte')
    t.strictSame((second!.body as { messages: unknown[] }).messages[1], { role: 'assistant', content: recorded.content })
    t.equal(second!.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14', 'the beta header passed on')
  })
}

t.test('to Anthropic: a base64 image arrives as sent', async (t) => {
  upstream.enqueue(jsonReply('anthropic-messages-text-nonstream'))
  const content = [
    { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: PNG_BASE64 } },
    { type: 'text' as const, text: 'What is in this image?' },
  ]
  const message = await client.messages.create({ model: 'claude-3-opus-20240229', max_tokens: 100, messages: [{ role: 'user', content }] })
  t.equal(message.type, 'message')
  t.strictSame(sentBody(0).messages[0], { role: 'user', content })
})

t.test('countTokens: passed to Anthropic with the routed model; a model with no counting endpoint is a 400 naming it', async (t) => {
  upstream.enqueueFor('POST /v1/messages/count_tokens', { status: 200, json: { input_tokens: 1234 } })
  const request = recordedRequest('anthropic-messages-tool-use-stream')
  const params = {
    model: 'anthropic/claude-sonnet-4-5',
    system: [{ type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } }],
    tools: request.tools as Tool[],
    messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
  }
  const count = await client.messages.countTokens(params)
  t.equal(count.input_tokens, 1234)
  t.equal(upstream.requests[0]!.path.split('?')[0], '/v1/messages/count_tokens')
  t.strictSame(sentBody(0), { ...params, model: 'claude-sonnet-4-5' }, 'the body as sent, the routing prefix stripped')
  t.notOk(JSON.stringify(upstream.requests[0]!.headers).includes(GATEWAY_KEY), 'the caller key is not forwarded')
  for (const model of ['gpt-4o-mini', 'demo-reasoner']) {
    const error = await client.messages.countTokens({ ...params, model }).catch((e: unknown) => e)
    t.ok(error instanceof Anthropic.BadRequestError, `${model}: a 400`)
    t.match((error as { error: unknown }).error, { type: 'error', error: { type: 'invalid_request_error', message: new RegExp(model) } })
  }
})

// ------------------------------------------------------------------ the offline demo

const weather: Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
}

for (const model of ['demo-chat', 'demo-reasoner']) {
  t.test(`the demo (${model}): a tool round trip, streamed equal to not streamed`, async (t) => {
    const params = { model, max_tokens: 500, tools: [weather], messages: [{ role: 'user', content: 'What is the weather in Paris?' }] as MessageParam[] }
    const plain = await client.messages.create(params)
    const stream = await streamed(params)
    t.strictSame(stream.message.content, plain.content, 'the same content')
    t.strictSame(stream.message.usage, counted(plain.usage), 'the same usage')
    t.equal(stream.message.stop_reason, 'tool_use')
    t.ok(plain.usage.input_tokens > 0 && plain.usage.output_tokens > 0, 'real counts')
    t.match(stream.deltaUsage, { input_tokens: plain.usage.input_tokens, output_tokens: plain.usage.output_tokens }, 'the final message_delta carries the full usage, input_tokens included')
    t.equal(stream.cost, 0, 'the demo costs nothing, and says so')
    const call = plain.content.find((block) => block.type === 'tool_use')
    t.match(call, { name: 'get_weather', input: Object })
    if (model === 'demo-reasoner') t.match(plain.content[0], { type: 'thinking', thinking: DEMO_LABEL }, 'the reasoner thinks first')

    const next = { ...params, messages: [...params.messages, { role: 'assistant' as const, content: plain.content }, { role: 'user' as const, content: toolResults(plain.content, () => '21°C, sunny') }] }
    const { data: answer, response } = await client.messages.create(next).withResponse()
    t.equal(answer.stop_reason, 'end_turn', 'the demo answers once the tool result is back')
    const text = answer.content.find((block) => block.type === 'text')
    t.match(text, { text: DEMO_LABEL })
    // The demo's own thinking has no signature to check: sent back, it is left out and said so.
    if (model === 'demo-reasoner') t.match(response.headers.get('x-gateway-omitted'), /messages\.thinking/)
    const again = await streamed(next)
    t.strictSame(again.message.content, answer.content, 'the answer streamed is the same')
  })
}
