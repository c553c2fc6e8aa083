// The OpenAI Agents SDK with its defaults (its Responses API model), pointed at the gateway the
// documented way (`setDefaultOpenAIClient`), its trace export off (there is no OpenAI to export
// to): an agent with a function tool, run and streamed, against an OpenAI model (passthrough),
// a Claude model (translated) and the offline demo.
import t from 'tap'
import OpenAI from 'openai'
import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool, type Usage } from '@openai/agents'
import { z } from 'zod'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import {
  DEMO_LABEL,
  claudeResponsesUsage,
  recordedClaudeText,
  recordedFunctionCalls,
  recordedOpenAIUsage,
  recordedOutputText,
  recordingFetch,
  startClientGateway,
} from './helpers.ts'

const { gateway, upstream } = await startClientGateway(t)
const recorder = recordingFetch()
setDefaultOpenAIClient(new OpenAI({ baseURL: gateway.baseURL, apiKey: 'unused', fetch: recorder.fetch }))
setTracingDisabled(true)
t.beforeEach(() => void (recorder.sent.length = 0))

const called: string[] = []
t.beforeEach(() => void (called.length = 0))
const tools = [
  tool({
    name: 'get_weather',
    description: 'Get the current weather in a given location',
    parameters: z.object({ location: z.string() }),
    execute: async ({ location }) => (called.push(`get_weather ${location}`), `21°C and sunny in ${location}`),
  }),
  tool({
    name: 'get_time',
    description: 'Get the current time in a given time zone',
    parameters: z.object({ timezone: z.string() }),
    execute: async ({ timezone }) => (called.push(`get_time ${timezone}`), `10:00 in ${timezone}`),
  }),
]
const agentFor = (model: string) => new Agent({ name: 'Weather', instructions: 'Answer with the tools.', tools, model })

/** The usage the SDK added up over the run's model calls. */
function runUsage(result: { state: { usage: Usage } }) {
  const usage = result.state.usage
  return { requests: usage.requests, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }
}

/** The sum of Responses usages, as the SDK counts them. */
function summed(...usages: Array<Record<string, unknown>>) {
  return {
    requests: usages.length,
    inputTokens: usages.reduce((n, u) => n + (u.input_tokens as number), 0),
    outputTokens: usages.reduce((n, u) => n + (u.output_tokens as number), 0),
  }
}

/** Runs streamed; `text` is what the last model call streamed (the answer after the tool turn). */
async function streamed(agent: ReturnType<typeof agentFor>, input: string) {
  const result = await run(agent, input, { stream: true })
  let text = ''
  const kinds = new Set<string>()
  for await (const event of result) {
    kinds.add(event.type)
    if (event.type !== 'raw_model_stream_event') continue
    if (event.data.type === 'response_started') text = ''
    if (event.data.type === 'output_text_delta') text += event.data.delta
  }
  await result.completed
  return { result, text, kinds }
}

t.test('OpenAI model: passthrough of /v1/responses', async (t) => {
  t.test('run: the tool runs on OpenAI\'s calls, the final answer as recorded', async (t) => {
    upstream.enqueue(jsonReply('openai-responses-function-calls-nonstream'), jsonReply('openai-responses-text-nonstream'))
    const result = await run(agentFor('gpt-4.1-nano'), 'Weather in London?')
    t.strictSame(called, recordedFunctionCalls('openai-responses-function-calls-nonstream').map((c) => `${String(c.name)} ${JSON.parse(String(c.arguments)).location}`))
    t.equal(result.finalOutput, recordedOutputText('openai-responses-text-nonstream'))
    t.strictSame(runUsage(result), summed(recordedOpenAIUsage('openai-responses-function-calls-nonstream'), recordedOpenAIUsage('openai-responses-text-nonstream')))
    t.equal(upstream.requests.length, 2)
    upstream.requests.forEach((request, i) => {
      t.equal(request.path, '/v1/responses')
      t.strictSame(request.body, recorder.sent[i], `request ${i + 1} as the SDK sent it`)
    })
  })

  t.test('run with stream: true', async (t) => {
    upstream.enqueue(sseReply('openai-responses-function-calls-nonstream'), sseReply('openai-responses-text-stream'))
    const { result, text, kinds } = await streamed(agentFor('gpt-4.1-nano'), 'Weather in London?')
    t.equal(called.length, 2, 'both calls ran')
    t.equal(text, recordedOutputText('openai-responses-text-stream'))
    t.equal(result.finalOutput, text)
    t.ok(kinds.has('run_item_stream_event'), 'tool calls and outputs as run items')
    t.strictSame(runUsage(result), summed(recordedOpenAIUsage('openai-responses-function-calls-nonstream'), recordedOpenAIUsage('openai-responses-text-stream')))
    upstream.requests.forEach((request, i) => t.strictSame(request.body, recorder.sent[i], `request ${i + 1} as the SDK sent it`))
  })
})

t.test('Claude model: translated to the Messages API', async (t) => {
  t.test('run: Claude\'s two tool calls run, then its answer', async (t) => {
    upstream.enqueue({ fixture: 'anthropic-messages-tool-use-nonstream' }, { fixture: 'anthropic-messages-text-nonstream' })
    const result = await run(agentFor('claude-3-5-sonnet-20240620'), 'Weather and time in New York?')
    t.strictSame(called, ['get_weather New York, NY', 'get_time America/New_York'])
    t.equal(result.finalOutput, recordedClaudeText('anthropic-messages-text-nonstream'))
    t.strictSame(runUsage(result), summed(claudeResponsesUsage('anthropic-messages-tool-use-nonstream'), claudeResponsesUsage('anthropic-messages-text-nonstream')))
    t.match(upstream.requests[0]?.body, { system: [{ type: 'text', text: 'Answer with the tools.' }], tools: [{ name: 'get_weather' }, { name: 'get_time' }] })
    const messages = (upstream.requests[1]?.body as { messages: Array<{ role: string; content: unknown }> }).messages
    t.ok(JSON.stringify(messages.at(-1)).includes('10:00 in America/New_York'), 'the tool results go back to Claude')
  })

  t.test('run with stream: true', async (t) => {
    upstream.enqueue({ fixture: 'anthropic-messages-tool-use-stream' }, { fixture: 'anthropic-messages-text-stream' })
    const { result, text } = await streamed(agentFor('claude-3-5-sonnet-20240620'), 'Weather and time in San Francisco?')
    t.match(called, [/^get_weather San Francisco/, /^get_time America\/Los_Angeles/], 'the tools Claude called in its stream')
    t.equal(text, recordedClaudeText('anthropic-messages-text-stream'))
    t.equal(result.finalOutput, text)
    t.strictSame(runUsage(result), summed(claudeResponsesUsage('anthropic-messages-tool-use-stream'), claudeResponsesUsage('anthropic-messages-text-stream')))
  })
})

t.test('the offline demo: no upstream at all', async (t) => {
  t.afterEach(() => t.equal(upstream.requests.length, 0, 'nothing reached an upstream'))

  t.test('run', async (t) => {
    const result = await run(agentFor('demo-chat'), 'What is the weather in Paris?')
    t.match(called, [/^get_weather /])
    t.match(result.finalOutput, DEMO_LABEL)
    t.ok(String(result.finalOutput).includes('21°C and sunny'), 'the answer quotes the tool result')
    t.equal(runUsage(result).requests, 2)
  })

  t.test('run with stream: true', async (t) => {
    const { result, text } = await streamed(agentFor('demo-chat'), 'What time is it in Tokyo?')
    t.match(called, [/^get_time /])
    t.equal(result.finalOutput, text)
    t.ok(text.includes('10:00'), 'the answer quotes the tool result')
  })
})
