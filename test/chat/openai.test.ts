// OpenAI through the gateway with the real `openai` client against recorded exchanges: what
// comes back is what OpenAI said (plus cost and trace ids), streamed or not; errors keep their
// meaning; the body goes upstream as sent.
import t from 'tap'
import { APIError } from 'openai'
import { loadFixture } from '../support/fixtures.ts'
import { startGateway } from '../support/gateway.ts'
import { openaiStreamChunks, startUpstream } from '../support/upstream.ts'

const upstream = await startUpstream({ seed: 7 })
const gateway = await startGateway({
  env: { OPENAI_API_KEY: 'sk-test-openai', OPENAI_BASE_URL: upstream.openaiBaseURL },
})
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
})
const client = gateway.client()

type Body = Record<string, unknown>
const requestOf = (name: string) => JSON.parse(loadFixture(name).request.body) as Body
const responseOf = (name: string) => JSON.parse(loadFixture(name).response.body) as Body

t.beforeEach(() => upstream.reset())

for (const name of [
  'openai-chat-text-nonstream',
  'openai-chat-tool-call-nonstream',
  'openai-chat-parallel-tool-calls-nonstream',
  'openai-chat-json-schema-nonstream',
  'openai-chat-json-schema-nested-nonstream',
  'openai-chat-json-schema-refusal-nonstream',
  'openai-chat-reasoning-tokens-nonstream',
  'openai-chat-custom-tool-call-nonstream',
  'openai-chat-prompt-cache-hit-nonstream',
]) {
  t.test(`${name}: the recorded answer comes back unchanged, plus cost and trace context`, async (t) => {
    upstream.enqueue({ fixture: name })
    const request = requestOf(name)
    const body = (await client.chat.completions.create(request as never)) as unknown as Body
    const recorded = responseOf(name)
    const { usage, trace_context: traceContext, ...rest } = body
    const { usage: recordedUsage, ...recordedRest } = recorded
    t.same(rest, recordedRest, 'choices, ids, model and every other field as OpenAI sent them')
    const { cost_usd: cost, ...usageRest } = usage as Body
    t.same(usageRest, recordedUsage, 'usage as OpenAI reported it')
    t.type(cost, 'number', 'cost_usd added for a priced model')
    t.match(traceContext, { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ })
    t.same(upstream.requests[0]?.body, request, 'the body went upstream exactly as sent')
  })
}

t.test('streamed tool call: deltas arrive in order and reassemble into the recorded call', async (t) => {
  const name = 'openai-chat-tool-call-stream-include-usage'
  upstream.enqueue({ fixture: name })
  const stream = await client.chat.completions.create({ ...requestOf(name), stream: true } as never)
  let args = ''
  let toolName = ''
  const chunks: Body[] = []
  for await (const chunk of stream as unknown as AsyncIterable<Body & { choices: Array<{ delta: { tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> } }> }>) {
    chunks.push(chunk)
    for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
      toolName += call.function?.name ?? ''
      args += call.function?.arguments ?? ''
    }
  }
  t.equal(toolName, 'multiply')
  const recordedArgs = openaiStreamChunks(loadFixture(name).response.body)
    .flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
    .map((c) => c.function?.arguments ?? '')
    .join('')
  t.same(JSON.parse(args), JSON.parse(recordedArgs), 'arguments reassemble to the recorded JSON')
  const usageChunk = chunks.at(-1) as Body & { usage: Body; trace_context: Body }
  t.match(usageChunk.usage, { prompt_tokens: 59, completion_tokens: 17, total_tokens: 76 })
  t.type(usageChunk.usage.cost_usd, 'number')
  t.match(usageChunk.trace_context, { trace_id: /^[0-9a-f]{32}$/ }, 'trace_context rides on the usage chunk')
})

t.test('parallel streamed tool calls keep their indexes apart', async (t) => {
  const name = 'openai-chat-parallel-tool-calls-stream'
  upstream.enqueue({ fixture: name })
  const stream = await client.chat.completions.create({ ...requestOf(name), stream: true } as never)
  const calls = new Map<number, string>()
  for await (const chunk of stream as unknown as AsyncIterable<{ choices: Array<{ delta: { tool_calls?: Array<{ index: number; function?: { arguments?: string } }> } }> }>) {
    for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
      calls.set(call.index, (calls.get(call.index) ?? '') + (call.function?.arguments ?? ''))
    }
  }
  t.equal(calls.size, 2)
  for (const args of calls.values()) t.match(JSON.parse(args), { location: String })
})

t.test('a recorded 400 (bad image URL) stays a 400 with OpenAI\'s own message', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-error-400-invalid-image-url' })
  const error = await client.chat.completions
    .create(requestOf('openai-chat-error-400-invalid-image-url') as never)
    .catch((e: unknown) => e)
  t.ok(error instanceof APIError)
  const apiError = error as APIError
  t.equal(apiError.status, 400)
  t.match(apiError.message, /Error while downloading/)
  t.equal(apiError.code, 'invalid_image_url', 'the upstream error code is passed on')
  t.match(apiError.headers?.get('x-trace-id'), /^[0-9a-f]{32}$/, 'errors carry trace ids too')
})

t.test('OpenAI rejecting the gateway key is the gateway\'s failure (502), not the caller\'s 401', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-error-401-invalid-api-key' })
  const error = (await client.chat.completions
    .create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
    .catch((e: unknown) => e)) as APIError
  t.equal(error.status, 502)
  t.match(error.message, /rejected the gateway's credentials/)
})

t.test('a 404 answered to a stream request is a 404 model_not_found before any SSE', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-error-404-model-not-found-on-stream-request' })
  const error = (await client.chat.completions
    .create({ model: 'gpt-3.5-turbo-0613', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    .catch((e: unknown) => e)) as APIError
  t.equal(error.status, 404)
  t.equal(error.code, 'model_not_found')
})

t.test('openai/ prefix routes explicitly and strips the prefix upstream', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  await client.chat.completions.create({ model: 'openai/gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
  t.equal((upstream.requests[0]?.body as Body).model, 'gpt-3.5-turbo')
})
