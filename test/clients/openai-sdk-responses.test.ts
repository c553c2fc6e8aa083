// The official `openai` SDK's Responses API, default settings, pointed at the gateway: create
// (plain and streamed), the `responses.stream` helper, a function-tool round trip and
// `responses.parse` with a zod schema, against an OpenAI model (passthrough: what reached OpenAI
// is what the SDK sent apart from `model`, usage as recorded), a Claude model (translated: the
// answer says what the recorded Claude said, usage as Anthropic counted it) and the offline demo.
import t, { type Test } from 'tap'
import OpenAI from 'openai'
import { zodTextFormat } from 'openai/helpers/zod'
import type { FunctionTool, Response, ResponseFunctionToolCall, ResponseInputItem } from 'openai/resources/responses/responses'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import {
  DEMO_LABEL,
  JOKE,
  Joke,
  claudeJsonToolReply,
  claudeResponsesUsage,
  countedUsage,
  openAIJsonReply,
  recordedBlocks,
  recordedClaudeText,
  recordedFunctionCalls,
  recordedOpenAIUsage,
  recordedOutputText,
  recordingFetch,
  startClientGateway,
  withoutModel,
} from './helpers.ts'

const { gateway, upstream } = await startClientGateway(t)
const recorder = recordingFetch()
const client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'unused', fetch: recorder.fetch })
t.beforeEach(() => void (recorder.sent.length = 0))

const weather: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Get the current weather in a given location',
  parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'], additionalProperties: false },
  strict: true,
}
const time: FunctionTool = {
  type: 'function',
  name: 'get_time',
  description: 'Get the current time in a given time zone',
  parameters: { type: 'object', properties: { timezone: { type: 'string' } }, required: ['timezone'], additionalProperties: false },
  strict: true,
}

/** What the client's tools answer: the result the model is sent back. */
const toolResult = (call: ResponseFunctionToolCall) => `${call.name} says 21°C for ${call.arguments}`

function outputsFor(response: Response): ResponseInputItem[] {
  return response.output
    .filter((item): item is ResponseFunctionToolCall => item.type === 'function_call')
    .map((call) => ({ type: 'function_call_output', call_id: call.call_id, output: toolResult(call) }))
}

async function streamedText(stream: AsyncIterable<{ type: string; delta?: unknown; response?: Response }>) {
  let text = ''
  let completed: Response | undefined
  const types: string[] = []
  for await (const event of stream) {
    types.push(event.type)
    if (event.type === 'response.output_text.delta') text += String(event.delta)
    if (event.type === 'response.completed') completed = event.response
  }
  return { text, completed, types }
}

t.test('OpenAI model: passthrough of /v1/responses', async (t) => {
  t.test('create: the body reaches OpenAI as sent (model routed), the answer and usage as recorded', async (t) => {
    const name = 'openai-responses-text-nonstream'
    upstream.enqueue(jsonReply(name))
    const response = await client.responses.create({ model: 'openai/gpt-4.1-nano', input: 'What is the capital of France?', instructions: 'Be brief.', temperature: 0.2 })
    t.equal(response.output_text, recordedOutputText(name))
    t.strictSame(countedUsage(response.usage), recordedOpenAIUsage(name), 'usage exactly as OpenAI counted it')
    const [seen] = upstream.requests
    t.equal(seen?.path, '/v1/responses')
    t.strictSame(withoutModel(seen?.body), withoutModel(recorder.sent[0]), 'the body as the SDK sent it')
    t.equal((seen?.body as { model: string }).model, 'gpt-4.1-nano', 'the provider prefix stripped by routing')
  })

  t.test('create with stream: true: every event, the text and the usage as recorded', async (t) => {
    const name = 'openai-responses-text-stream'
    upstream.enqueue(sseReply(name))
    const { text, completed, types } = await streamedText(await client.responses.create({ model: 'gpt-4.1-nano', input: 'What is 2+2?', stream: true }))
    t.equal(text, recordedOutputText(name))
    t.equal(types[0], 'response.created')
    t.equal(types.at(-1), 'response.completed')
    t.strictSame(countedUsage(completed?.usage), recordedOpenAIUsage(name))
    t.strictSame(upstream.requests[0]?.body, recorder.sent[0], 'the body as the SDK sent it (stream: true included)')
  })

  t.test('the responses.stream helper: finalResponse() has the text and usage', async (t) => {
    const name = 'openai-responses-cache-hit-stream'
    upstream.enqueue(sseReply(name))
    const stream = client.responses.stream({ model: 'gpt-4o', input: 'hello hello', max_output_tokens: 100 })
    let deltas = 0
    stream.on('response.output_text.delta', () => deltas++)
    const final = await stream.finalResponse()
    t.ok(deltas > 1, `the text arrived in pieces (${deltas})`)
    t.equal(final.output_text, recordedOutputText(name))
    t.strictSame(countedUsage(final.usage), recordedOpenAIUsage(name), 'cached tokens included')
    t.strictSame(upstream.requests[0]?.body, recorder.sent[0])
  })

  t.test('a function-tool round trip with previous_response_id', async (t) => {
    upstream.enqueue(jsonReply('openai-responses-function-calls-nonstream'), jsonReply('openai-responses-text-nonstream'))
    const first = await client.responses.create({ model: 'gpt-4.1-nano', input: 'What is the weather like in London?', tools: [weather] })
    const calls = first.output.filter((item) => item.type === 'function_call')
    t.strictSame(calls, recordedFunctionCalls('openai-responses-function-calls-nonstream'), 'the calls as OpenAI made them')
    t.strictSame(countedUsage(first.usage), recordedOpenAIUsage('openai-responses-function-calls-nonstream'))
    const second = await client.responses.create({ model: 'gpt-4.1-nano', previous_response_id: first.id, input: outputsFor(first), tools: [weather] })
    t.equal(second.output_text, recordedOutputText('openai-responses-text-nonstream'))
    t.strictSame(countedUsage(second.usage), recordedOpenAIUsage('openai-responses-text-nonstream'))
    t.equal(upstream.requests.length, 2)
    t.strictSame(upstream.requests[1]?.body, recorder.sent[1], 'previous_response_id and the outputs passed on for OpenAI to resolve')
  })

  t.test('responses.parse with zodTextFormat: output_parsed from OpenAI\'s JSON', async (t) => {
    const format = zodTextFormat(Joke, 'joke')
    upstream.enqueue(openAIJsonReply(JOKE, format as unknown as Record<string, unknown>))
    const parsed = await client.responses.parse({ model: 'gpt-4.1-nano', input: 'Tell me a joke about opentelemetry', text: { format } })
    t.strictSame(parsed.output_parsed, JOKE, 'parsed and validated by the SDK')
    t.strictSame(countedUsage(parsed.usage), recordedOpenAIUsage('openai-responses-text-nonstream'))
    t.strictSame(upstream.requests[0]?.body, recorder.sent[0], 'text.format as the SDK sent it')
  })
})

t.test('Claude model: translated to the Messages API', async (t) => {
  t.test('create: Claude\'s text, usage as Anthropic counted it, a Messages request upstream', async (t) => {
    const name = 'anthropic-messages-text-nonstream'
    upstream.enqueue({ fixture: name })
    const response = await client.responses.create({ model: 'claude-3-opus-20240229', input: 'Tell me a joke about OpenTelemetry', instructions: 'Be funny.' })
    t.equal(response.output_text, recordedClaudeText(name))
    t.equal(response.status, 'completed')
    t.strictSame(countedUsage(response.usage), claudeResponsesUsage(name))
    const seen = upstream.requests[0]
    t.equal(seen?.path, '/v1/messages')
    t.match(seen?.body, { model: 'claude-3-opus-20240229', system: [{ type: 'text', text: 'Be funny.' }], messages: [{ role: 'user' }], max_tokens: Number })
  })

  for (const name of ['anthropic-messages-cache-read-nonstream', 'anthropic-messages-cache-write-nonstream', 'anthropic-messages-cache-write-1h-ttl-nonstream']) {
    t.test(`create: cache reads and writes counted (${name})`, async (t) => {
      upstream.enqueue({ fixture: name })
      const response = await client.responses.create({ model: 'claude-sonnet-4-20250514', input: 'Summarise the articles.' })
      t.strictSame(countedUsage(response.usage), claudeResponsesUsage(name))
      t.equal(response.output_text, recordedClaudeText(name))
    })
  }

  t.test('create with stream: true: the text and the usage as Anthropic streamed them', async (t) => {
    const name = 'anthropic-messages-text-stream'
    upstream.enqueue({ fixture: name })
    const { text, completed, types } = await streamedText(await client.responses.create({ model: 'claude-3-haiku-20240307', input: 'Tell me a joke about OpenTelemetry', stream: true }))
    t.equal(text, recordedClaudeText(name))
    t.equal(types[0], 'response.created')
    t.equal(types.at(-1), 'response.completed')
    t.equal(completed?.output_text ?? outputText(completed), text, 'response.completed holds the same text')
    t.strictSame(countedUsage(completed?.usage), claudeResponsesUsage(name))
  })

  t.test('the responses.stream helper: finalResponse() with a cache write in its usage', async (t) => {
    const name = 'anthropic-messages-cache-write-stream'
    upstream.enqueue({ fixture: name })
    const final = await client.responses.stream({ model: 'claude-3-5-sonnet-20240620', input: 'Summarise the articles.' }).finalResponse()
    t.equal(final.output_text, recordedClaudeText(name))
    t.strictSame(countedUsage(final.usage), claudeResponsesUsage(name))
  })

  t.test('a function-tool round trip with previous_response_id (the gateway kept the response)', async (t) => {
    const tools = [weather, time]
    upstream.enqueue({ fixture: 'anthropic-messages-tool-use-nonstream' }, { fixture: 'anthropic-messages-text-nonstream' })
    const first = await client.responses.create({ model: 'claude-3-5-sonnet-20240620', input: 'Weather and time in New York?', tools })
    const calls = first.output.filter((item): item is ResponseFunctionToolCall => item.type === 'function_call')
    const recorded = recordedBlocks('anthropic-messages-tool-use-nonstream').filter((b) => b.type === 'tool_use')
    t.strictSame(
      calls.map((c) => ({ call_id: c.call_id, name: c.name, args: JSON.parse(c.arguments) as unknown })),
      recorded.map((b) => ({ call_id: b.id, name: b.name, args: b.input })),
      'Claude\'s tool_use blocks as function_call items',
    )
    t.strictSame(countedUsage(first.usage), claudeResponsesUsage('anthropic-messages-tool-use-nonstream'))
    const second = await client.responses.create({ model: 'claude-3-5-sonnet-20240620', previous_response_id: first.id, input: outputsFor(first), tools })
    t.equal(second.output_text, recordedClaudeText('anthropic-messages-text-nonstream'))
    checkToolResultsSent(t, upstream.requests[1]?.body, calls)
  })

  t.test('a function-tool round trip with the full input and store: false', async (t) => {
    const tools = [weather, time]
    upstream.enqueue({ fixture: 'anthropic-messages-tool-use-nonstream' }, { fixture: 'anthropic-messages-text-nonstream' })
    const input: ResponseInputItem[] = [{ role: 'user', content: 'Weather and time in New York?' }]
    const first = await client.responses.create({ model: 'claude-3-5-sonnet-20240620', input, tools, store: false })
    const calls = first.output.filter((item): item is ResponseFunctionToolCall => item.type === 'function_call')
    t.equal(calls.length, 2)
    const second = await client.responses.create({ model: 'claude-3-5-sonnet-20240620', input: [...input, ...first.output, ...outputsFor(first)] as ResponseInputItem[], tools, store: false })
    t.equal(second.output_text, recordedClaudeText('anthropic-messages-text-nonstream'))
    checkToolResultsSent(t, upstream.requests[1]?.body, calls)
  })

  t.test('responses.parse with zodTextFormat: the schema enforced through a forced tool, output_parsed', async (t) => {
    upstream.enqueue(claudeJsonToolReply(JOKE))
    const parsed = await client.responses.parse({ model: 'claude-3-5-sonnet-20240620', input: 'Tell me a joke about opentelemetry', text: { format: zodTextFormat(Joke, 'joke') } })
    t.strictSame(parsed.output_parsed, JOKE)
    t.equal(parsed.status, 'completed', 'the forced tool is the answer, not a tool call')
    t.strictSame(countedUsage(parsed.usage), claudeResponsesUsage('anthropic-messages-tool-use-nonstream'))
    t.match(upstream.requests[0]?.body, { tool_choice: { type: 'tool', name: 'json_response' }, tools: [{ name: 'json_response' }] })
  })
})

t.test('the offline demo: no upstream at all', async (t) => {
  t.afterEach(() => t.equal(upstream.requests.length, 0, 'nothing reached an upstream'))

  t.test('create, plain and streamed', async (t) => {
    const response = await client.responses.create({ model: 'demo-chat', input: 'Hello there' })
    t.match(response.output_text, DEMO_LABEL)
    t.ok((response.usage?.input_tokens ?? 0) > 0 && (response.usage?.output_tokens ?? 0) > 0, 'usage counted')
    const { text, completed } = await streamedText(await client.responses.create({ model: 'demo-chat', input: 'Hello there', stream: true }))
    t.equal(text, response.output_text, 'the stream adds up to the same answer')
    t.strictSame(countedUsage(completed?.usage), countedUsage(response.usage), 'streamed usage = non-streamed usage')
  })

  t.test('the responses.stream helper and demo-reasoner\'s reasoning', async (t) => {
    const final = await client.responses.stream({ model: 'demo-reasoner', input: 'Why is the sky blue?' }).finalResponse()
    t.match(final.output_text, DEMO_LABEL)
    t.ok(final.output.some((item) => item.type === 'reasoning'), 'a reasoning item')
    t.ok((final.usage?.output_tokens_details.reasoning_tokens ?? 0) > 0, 'reasoning tokens counted')
  })

  t.test('a function-tool round trip with previous_response_id', async (t) => {
    const first = await client.responses.create({ model: 'demo-chat', input: 'What is the weather in Paris?', tools: [weather] })
    const [call] = first.output
    t.equal(call?.type === 'function_call' ? call.name : undefined, 'get_weather')
    const second = await client.responses.create({ model: 'demo-chat', previous_response_id: first.id, input: outputsFor(first), tools: [weather] })
    t.match(second.output_text, DEMO_LABEL)
    t.ok(second.output_text.includes('21°C'), 'the answer quotes the tool\'s result')
  })

  t.test('responses.parse with zodTextFormat', async (t) => {
    const parsed = await client.responses.parse({ model: 'demo-chat', input: 'A joke, please', text: { format: zodTextFormat(Joke, 'joke') } })
    t.ok(Joke.safeParse(parsed.output_parsed).success, 'valid for the schema')
    t.match(parsed.output_parsed?.joke, DEMO_LABEL)
  })
})

function outputText(response: Response | undefined): string {
  return (response?.output ?? []).flatMap((item) => (item.type === 'message' ? item.content : [])).map((part) => (part.type === 'output_text' ? part.text : '')).join('')
}

/** The Messages request after a tool turn: Claude's tool_use blocks, then the client's results. */
function checkToolResultsSent(t: Test, body: unknown, calls: ResponseFunctionToolCall[]): void {
  const messages = (body as { messages: Array<{ role: string; content: unknown }> }).messages
  const assistant = messages.at(-2) as { role: string; content: Array<{ type: string }> }
  t.equal(assistant.role, 'assistant')
  t.match(assistant.content.filter((b) => b.type === 'tool_use'), calls.map((c) => ({ id: c.call_id, name: c.name })), 'the tool_use blocks replayed')
  t.match(messages.at(-1), { role: 'user', content: calls.map((c) => ({ type: 'tool_result', tool_use_id: c.call_id })) }, 'a tool_result per call')
  t.ok(JSON.stringify(messages.at(-1)).includes('21°C'), 'with the results the client sent')
}
