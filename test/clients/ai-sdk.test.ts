// The Vercel AI SDK's DEFAULT OpenAI provider, `createOpenAI({ baseURL, apiKey })(modelId)`, which
// speaks the Responses API (`.chat(modelId)` is the Chat Completions model): generateText,
// streamText, a tool loop with `stopWhen` and generateObject, against an OpenAI model
// (passthrough: OpenAI got what the SDK sent, usage as recorded), a Claude model (translated:
// Claude's recorded words and counts) and the offline demo.
import t from 'tap'
import { createOpenAI } from '@ai-sdk/openai'
import { generateObject, generateText, stepCountIs, streamText, tool, type LanguageModelUsage } from 'ai'
import { z } from 'zod'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import {
  DEMO_LABEL,
  JOKE,
  Joke,
  claudeJsonTextReply,
  claudeResponsesUsage,
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
const openai = createOpenAI({ baseURL: gateway.baseURL, apiKey: 'unused', fetch: recorder.fetch })
t.beforeEach(() => void (recorder.sent.length = 0))

const called: string[] = []
t.beforeEach(() => void (called.length = 0))
const tools = {
  get_weather: tool({
    description: 'Get the current weather in a given location',
    inputSchema: z.object({ location: z.string() }),
    execute: async ({ location }) => (called.push(`get_weather ${location}`), `21°C and sunny in ${location}`),
  }),
  get_time: tool({
    description: 'Get the current time in a given time zone',
    inputSchema: z.object({ timezone: z.string() }),
    execute: async ({ timezone }) => (called.push(`get_time ${timezone}`), `10:00 in ${timezone}`),
  }),
}

/** The AI SDK's usage for the Responses usage the gateway answered. */
function sdkUsage(usage: Record<string, unknown>): Pick<LanguageModelUsage, 'inputTokens' | 'outputTokens'> & { cacheReadTokens: number | undefined } {
  const details = usage.input_tokens_details as { cached_tokens: number }
  return { inputTokens: usage.input_tokens as number, outputTokens: usage.output_tokens as number, cacheReadTokens: details.cached_tokens }
}
const usageOf = (usage: LanguageModelUsage) => ({ inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cacheReadTokens: usage.inputTokenDetails.cacheReadTokens })

t.test('OpenAI model: passthrough of /v1/responses', async (t) => {
  t.test('generateText', async (t) => {
    const name = 'openai-responses-text-nonstream'
    upstream.enqueue(jsonReply(name))
    const result = await generateText({ model: openai('gpt-4.1-nano'), prompt: 'What is the capital of France?', maxRetries: 0 })
    t.equal(result.text, recordedOutputText(name))
    t.equal(result.finishReason, 'stop')
    t.strictSame(usageOf(result.usage), sdkUsage(recordedOpenAIUsage(name)), 'usage as OpenAI counted it')
    t.equal(upstream.requests[0]?.path, '/v1/responses', 'the default provider speaks the Responses API')
    t.strictSame(upstream.requests[0]?.body, recorder.sent[0], 'the body as the SDK sent it')
  })

  t.test('streamText', async (t) => {
    const name = 'openai-responses-cache-hit-stream'
    upstream.enqueue(sseReply(name))
    const result = streamText({ model: openai('openai/gpt-4o'), prompt: 'hello hello', maxRetries: 0 })
    let pieces = 0
    let text = ''
    for await (const delta of result.textStream) (pieces++, (text += delta))
    t.ok(pieces > 1, `streamed in pieces (${pieces})`)
    t.equal(text, recordedOutputText(name))
    t.strictSame(usageOf(await result.usage), sdkUsage(recordedOpenAIUsage(name)), 'cached tokens included')
    t.strictSame(withoutModel(upstream.requests[0]?.body), withoutModel(recorder.sent[0]), 'the body as the SDK sent it')
    t.equal((upstream.requests[0]?.body as { model: string }).model, 'gpt-4o', 'apart from the routed model')
  })

  t.test('tools with stopWhen: the SDK runs the tools and asks again', async (t) => {
    upstream.enqueue(jsonReply('openai-responses-function-calls-nonstream'), jsonReply('openai-responses-text-nonstream'))
    const result = await generateText({ model: openai('gpt-4.1-nano'), prompt: 'Weather in London?', tools, stopWhen: stepCountIs(3), maxRetries: 0 })
    t.equal(result.steps.length, 2, 'a tool step, then the answer')
    t.strictSame(called, recordedFunctionCalls('openai-responses-function-calls-nonstream').map((c) => `${String(c.name)} ${JSON.parse(String(c.arguments)).location}`))
    t.equal(result.text, recordedOutputText('openai-responses-text-nonstream'))
    t.equal(upstream.requests.length, 2)
    upstream.requests.forEach((request, i) => t.strictSame(request.body, recorder.sent[i], `request ${i + 1} as the SDK sent it`))
    t.strictSame(usageOf(result.steps[0]!.usage), sdkUsage(recordedOpenAIUsage('openai-responses-function-calls-nonstream')))
  })

  t.test('generateObject', async (t) => {
    upstream.enqueue(openAIJsonReply(JOKE, { type: 'json_schema', name: 'response', strict: true }))
    const { object } = await generateObject({ model: openai('gpt-4.1-nano'), schema: Joke, prompt: 'Tell me a joke about opentelemetry', maxRetries: 0 })
    t.strictSame(object, JOKE)
    t.match(recorder.sent[0], { text: { format: { type: 'json_schema' } } }, 'the SDK asked for a json_schema text format')
    t.strictSame(upstream.requests[0]?.body, recorder.sent[0])
  })
})

t.test('Claude model: translated to the Messages API', async (t) => {
  t.test('generateText', async (t) => {
    const name = 'anthropic-messages-cache-read-nonstream'
    upstream.enqueue({ fixture: name })
    const result = await generateText({ model: openai('claude-3-5-sonnet-20240620'), system: 'Summarise.', prompt: 'The articles.', maxRetries: 0 })
    t.equal(result.text, recordedClaudeText(name))
    t.equal(result.finishReason, 'stop')
    t.strictSame(usageOf(result.usage), sdkUsage(claudeResponsesUsage(name)), 'cache reads counted')
    t.match(upstream.requests[0], { path: '/v1/messages', body: { system: [{ type: 'text', text: 'Summarise.' }] } })
  })

  t.test('streamText', async (t) => {
    const name = 'anthropic-messages-text-stream'
    upstream.enqueue({ fixture: name })
    const result = streamText({ model: openai('claude-3-haiku-20240307'), prompt: 'Tell me a joke about OpenTelemetry', maxRetries: 0 })
    let text = ''
    for await (const delta of result.textStream) text += delta
    t.equal(text, recordedClaudeText(name))
    t.equal(await result.finishReason, 'stop')
    t.strictSame(usageOf(await result.usage), sdkUsage(claudeResponsesUsage(name)))
  })

  t.test('tools with stopWhen: Claude\'s two tool calls run, then its answer', async (t) => {
    upstream.enqueue({ fixture: 'anthropic-messages-tool-use-nonstream' }, { fixture: 'anthropic-messages-text-nonstream' })
    // With its default store: true the SDK sends Claude's first text back as an `item_reference`:
    // the gateway resolves it from the responses it kept.
    const result = await generateText({ model: openai('claude-3-5-sonnet-20240620'), prompt: 'Weather and time in New York?', tools, stopWhen: stepCountIs(3), maxRetries: 0 })
    t.strictSame(called, ['get_weather New York, NY', 'get_time America/New_York'], 'the tools Claude called, with its arguments')
    t.equal(result.text, recordedClaudeText('anthropic-messages-text-nonstream'))
    t.equal(result.steps.length, 2)
    const messages = (upstream.requests[1]?.body as { messages: Array<{ role: string; content: unknown }> }).messages
    const toolUses = recordedBlocks('anthropic-messages-tool-use-nonstream').filter((b) => b.type === 'tool_use')
    t.match(messages.at(-1), { role: 'user', content: toolUses.map((b) => ({ type: 'tool_result', tool_use_id: b.id })) }, 'the results go back to Claude')
    t.ok(JSON.stringify(messages.at(-1)).includes('21°C and sunny in New York, NY'))
    const firstText = recordedBlocks('anthropic-messages-tool-use-nonstream').find((b) => b.type === 'text') as { text: string } | undefined
    if (firstText) t.ok(JSON.stringify(messages).includes(JSON.stringify(firstText.text).slice(1, -1)), "Claude's own words before its tool calls went back to it (the item_reference, resolved)")
  })

  t.test('streamText with tools: Claude\'s streamed tool calls run, then its streamed answer', async (t) => {
    upstream.enqueue({ fixture: 'anthropic-messages-tool-use-stream' }, { fixture: 'anthropic-messages-text-stream' })
    const result = streamText({ model: openai('claude-3-5-sonnet-20240620'), prompt: 'Weather and time in San Francisco?', tools, stopWhen: stepCountIs(3), maxRetries: 0 })
    let text = ''
    for await (const delta of result.textStream) text += delta
    t.strictSame(called, ['get_weather San Francisco, CA', 'get_time America/Los_Angeles'], 'the calls Claude streamed, with its arguments')
    t.equal(text, recordedClaudeText('anthropic-messages-tool-use-stream') + recordedClaudeText('anthropic-messages-text-stream'), 'both steps\' text')
    const steps = await result.steps
    t.strictSame(steps.map((s) => usageOf(s.usage)), [sdkUsage(claudeResponsesUsage('anthropic-messages-tool-use-stream')), sdkUsage(claudeResponsesUsage('anthropic-messages-text-stream'))])
  })

  t.test('generateObject: native structured output (claude-sonnet-4-5)', async (t) => {
    upstream.enqueue(claudeJsonTextReply(JOKE))
    const { object, usage } = await generateObject({ model: openai('claude-sonnet-4-5'), schema: Joke, prompt: 'Tell me a joke about opentelemetry', maxRetries: 0 })
    t.strictSame(object, JOKE)
    t.strictSame(usageOf(usage), sdkUsage(claudeResponsesUsage('anthropic-messages-text-nonstream')))
    t.match(upstream.requests[0]?.body, { output_config: { format: { type: 'json_schema' } } }, 'the schema sent as Claude\'s output format')
  })
})

t.test('the offline demo: no upstream at all', async (t) => {
  t.afterEach(() => t.equal(upstream.requests.length, 0, 'nothing reached an upstream'))

  t.test('generateText and streamText say the same', async (t) => {
    const generated = await generateText({ model: openai('demo-chat'), prompt: 'Hello there', maxRetries: 0 })
    t.match(generated.text, DEMO_LABEL)
    t.ok((generated.usage.inputTokens ?? 0) > 0 && (generated.usage.outputTokens ?? 0) > 0, 'usage counted')
    const streamed = streamText({ model: openai('demo-chat'), prompt: 'Hello there', maxRetries: 0 })
    let text = ''
    for await (const delta of streamed.textStream) text += delta
    t.equal(text, generated.text)
    t.same(usageOf(await streamed.usage), usageOf(generated.usage), 'streamed usage = generated usage')
  })

  t.test('tools with stopWhen: the demo calls a tool, then answers with its result', async (t) => {
    const result = await generateText({ model: openai('demo-chat'), prompt: 'What is the weather in Paris?', tools, stopWhen: stepCountIs(3), maxRetries: 0 })
    t.equal(called.length, 1, 'one tool ran')
    t.equal(result.steps.length, 2)
    t.match(result.text, DEMO_LABEL)
    t.ok(result.text.includes('21°C and sunny'), 'the answer quotes the tool result')
  })

  t.test('tools with stopWhen on the demo reasoner: its reasoning comes back by reference, resolved from the store', async (t) => {
    const result = await generateText({ model: openai('demo-reasoner'), prompt: 'What is the weather in Paris?', tools, stopWhen: stepCountIs(3), maxRetries: 0 })
    t.equal(called.length, 1, 'one tool ran')
    t.equal(result.steps.length, 2, 'and the model was asked again with its result (no 400 for the item_reference)')
    t.ok(result.text.includes('21°C and sunny'), 'the answer quotes the tool result')
  })

  t.test('streamText with tools', async (t) => {
    const result = streamText({ model: openai('demo-chat'), prompt: 'What time is it in Tokyo?', tools, stopWhen: stepCountIs(3), maxRetries: 0 })
    let text = ''
    for await (const delta of result.textStream) text += delta
    t.match(called, [/^get_time /], 'the clock, for a time question')
    t.ok(text.includes('10:00'), 'the answer quotes the tool result')
  })

  t.test('generateObject', async (t) => {
    const { object } = await generateObject({ model: openai('demo-chat'), schema: Joke, prompt: 'A joke, please', maxRetries: 0 })
    t.ok(Joke.safeParse(object).success)
    t.match(object.joke, DEMO_LABEL)
  })
})
