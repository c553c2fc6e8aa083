// Every recorded OpenAI Responses exchange, through the gateway's POST /v1/responses to the
// emulated OpenAI, with the official `openai` client: streamed and not (each recording in its own
// mode and in the other one, derived by test/support/fixture-variants-responses.ts). The contract:
// passthrough (the body reaches OpenAI as the client sent it apart from `model`, the answer comes
// back as OpenAI sent it), usage exactly as recorded (input, cached, output, reasoning), streamed
// usage equal to non-streamed, `usage.cost_usd` from the price book, and the trace ids in the
// headers, in the JSON answer and beside `response` in the `response.completed` event.
import t from 'tap'
import { APIError } from 'openai'
import type {
  Response as OpenAIResponse,
  ResponseCreateParamsNonStreaming,
  ResponseCreateParamsStreaming,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses'
import { PriceBook, computeCost } from '../../src/pricing/cost.ts'
import { PRICES } from '../../src/providers/registry.ts'
import { fixtureNames, loadFixture } from '../support/fixtures.ts'
import { jsonReply, recordedAsStream, sseReply } from '../support/fixture-variants.ts'
import { responseSseToJson } from '../support/fixture-variants-responses.ts'
import { startGateway } from '../support/gateway.ts'
import { providerEnv, sseEvents, startUpstream } from '../support/upstream.ts'

type Json = Record<string, unknown>
type TraceContext = { trace_id: string; span_id: string }
/** The usage a caller gets: OpenAI's, plus the gateway's cost. */
type GatewayUsage = NonNullable<OpenAIResponse['usage']> & { cost_usd?: number }

interface Expected {
  input: number
  cached: number
  output: number
  reasoning: number
  /** USD; undefined = the model has no price, so no cost_usd may appear. */
  costUsd: number | undefined
}

// Costs: USD per million tokens from the providers' prices.ts, for the model the request names:
// (input − cached) × input + cached × cacheRead + output × output.
const EXPECTED: Record<string, Expected> = {
  // gpt-4o $2.5 / cached $1.25 / $10: 125 × 2.5 + 1390 × 1.25 + 8 × 10 = 2130 µ$
  'openai-responses-cache-hit-stream': { input: 1515, cached: 1390, output: 8, reasoning: 0, costUsd: 0.00213 },
  // gpt-4.1 $2 / $8: 75 × 2 + 23 × 8 = 334 µ$
  'openai-responses-function-call-stream': { input: 75, cached: 0, output: 23, reasoning: 0, costUsd: 0.000334 },
  // gpt-4.1-nano $0.1 / $0.4: 59 × 0.1 + 45 × 0.4 = 23.9 µ$
  'openai-responses-function-calls-nonstream': { input: 59, cached: 0, output: 45, reasoning: 0, costUsd: 0.0000239 },
  // gpt-5-nano $0.05 / $0.4: 11 × 0.05 + 131 × 0.4 = 52.95 µ$ (the 64 reasoning tokens are output tokens)
  'openai-responses-reasoning-nonstream': { input: 11, cached: 0, output: 131, reasoning: 64, costUsd: 0.00005295 },
  // gpt-4.1-nano: 14 × 0.1 + 8 × 0.4 = 4.6 µ$
  'openai-responses-text-nonstream': { input: 14, cached: 0, output: 8, reasoning: 0, costUsd: 0.0000046 },
  // gpt-4.1-nano: 14 × 0.1 + 9 × 0.4 = 5 µ$
  'openai-responses-text-stream': { input: 14, cached: 0, output: 9, reasoning: 0, costUsd: 0.000005 },
}

const ALL = fixtureNames('openai-responses-')
const REPLAYED = ALL.filter((name) => loadFixture(name).meta.http_status === 200)

/** The recorded request as the client sends it, `stream` as asked. */
function params(name: string, stream: boolean): Json {
  const { stream: _recorded, ...body } = JSON.parse(loadFixture(name).request.body) as Json
  return stream ? { ...body, stream: true } : body
}

function withoutModel(body: unknown): Json {
  const { model: _model, ...rest } = body as Json
  return rest
}

/** The Response OpenAI answers in the mode asked: the recording, or the variant derived from it. */
function upstreamResponse(name: string): Json {
  const fixture = loadFixture(name)
  return recordedAsStream(name) ? responseSseToJson(fixture.response.body) : (JSON.parse(fixture.response.body) as Json)
}

function priceBookCost(name: string, expected: Expected): number | undefined {
  const price = new PriceBook(PRICES).lookup('openai', String(params(name, false).model))
  if (!price) return undefined
  const usage = { input: expected.input, output: expected.output, cacheRead: expected.cached, cacheWrite: 0, cacheWrite1h: 0, reasoning: expected.reasoning }
  return computeCost(usage, price).total
}

function usageNumbers(usage: GatewayUsage | null | undefined): Omit<Expected, 'costUsd'> {
  return {
    input: usage?.input_tokens ?? -1,
    cached: usage?.input_tokens_details?.cached_tokens ?? -1,
    output: usage?.output_tokens ?? -1,
    reasoning: usage?.output_tokens_details?.reasoning_tokens ?? -1,
  }
}

const upstream = await startUpstream({ seed: 11 })
const gateway = await startGateway({ env: providerEnv(upstream) })
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
})
const client = gateway.client()

t.test('the expectations cover every 200 recording and match it and the price book', async (t) => {
  t.strictSame(Object.keys(EXPECTED).sort(), REPLAYED, 'one expectation per 200 recording, no more')
  for (const name of REPLAYED) {
    const { costUsd, ...numbers } = EXPECTED[name]!
    t.strictSame(numbers, usageNumbers(loadFixture(name).meta.usage as unknown as GatewayUsage), `${name}: the recorded numbers`)
    t.equal(costUsd, priceBookCost(name, EXPECTED[name]!), `${name}: the price book's cost`)
  }
})

for (const name of REPLAYED) {
  const expected = EXPECTED[name]!
  const modes = recordedAsStream(name) ? 'recorded SSE, derived JSON' : 'recorded JSON, derived SSE'

  t.test(`${name} (${modes})`, async (t) => {
    upstream.reset()
    const answer = upstreamResponse(name)

    // Not streamed, with the bare model the recording names.
    upstream.enqueue(jsonReply(name))
    const sentPlain = params(name, false)
    const plain = await client.responses.create(sentPlain as unknown as ResponseCreateParamsNonStreaming).withResponse()
    const json = plain.data as OpenAIResponse & { usage: GatewayUsage; trace_context?: TraceContext }
    const { cost_usd: cost, ...counted } = json.usage
    t.strictSame(counted, loadFixture(name).meta.usage, 'usage exactly as OpenAI counted it (the recording)')
    t.strictSame(usageNumbers(json.usage), { input: expected.input, cached: expected.cached, output: expected.output, reasoning: expected.reasoning })
    t.equal(cost, expected.costUsd, 'usage.cost_usd from the price book')
    t.strictSame(json.output, answer.output, 'the output as OpenAI sent it')
    t.equal(json.id, answer.id)
    t.match(json.trace_context, { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ }, 'trace_context in the JSON answer')
    t.equal(plain.response.headers.get('x-trace-id'), json.trace_context?.trace_id, 'x-trace-id is the same trace')

    // Streamed, with the `openai/` prefix the gateway strips.
    upstream.enqueue(sseReply(name))
    const sentStreamed = { ...params(name, true), model: `openai/${String(sentPlain.model)}` }
    const streamed = await client.responses.create(sentStreamed as unknown as ResponseCreateParamsStreaming).withResponse()
    const events: ResponseStreamEvent[] = []
    for await (const event of streamed.data) events.push(event)
    const served = sseEvents(servedBody(name)).map((e) => (JSON.parse(e.data) as Json).type)
    t.strictSame(events.map((e) => e.type), served, 'every upstream event passed on, in order')
    const completed = events.at(-1) as (ResponseStreamEvent & { response?: OpenAIResponse; trace_context?: TraceContext }) | undefined
    t.equal(completed?.type, 'response.completed')
    const streamedUsage = completed?.response?.usage as GatewayUsage | undefined
    t.strictSame(streamedUsage, json.usage, 'streamed usage (cost included) = non-streamed usage')
    t.match(completed?.trace_context, { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ }, 'trace_context beside response')
    t.equal(streamed.response.headers.get('x-trace-id'), completed?.trace_context?.trace_id)
    t.not(completed?.trace_context?.trace_id, json.trace_context?.trace_id, 'each call is its own trace')

    // What reached OpenAI: the client's body, apart from `model`.
    const [toPlain, toStreamed] = await upstream.waitForRequests(2)
    t.equal(toPlain?.path, '/v1/responses')
    t.strictSame(withoutModel(toPlain?.body), withoutModel(sentPlain), 'the plain body passed through')
    t.equal((toPlain?.body as Json).model, sentPlain.model)
    t.equal(toStreamed?.path, '/v1/responses')
    t.strictSame(withoutModel(toStreamed?.body), withoutModel(sentStreamed), 'the streamed body passed through')
    t.equal((toStreamed?.body as Json).model, sentPlain.model, 'the routing prefix is stripped')
  })
}

/** The SSE text the emulator served for the streamed call. */
function servedBody(name: string): string {
  const reply = sseReply(name)
  return 'fixture' in reply ? loadFixture(reply.fixture).response.body : String(reply.body)
}

t.test("a recorded 400 stays a 400 with OpenAI's own message and code", async (t) => {
  upstream.reset()
  upstream.enqueue({ fixture: 'openai-responses-error-400-model-not-found' })
  const error = await client.responses.create({ model: 'gpt-4.1', input: 'Hello world' }).catch((e: unknown) => e)
  t.ok(error instanceof APIError)
  t.match(error, { status: 400, code: 'model_not_found', message: /does not exist/ })
  t.match((error as APIError).headers?.get('x-trace-id'), /^[0-9a-f]{32}$/)
})

t.test("OpenAI rejecting the gateway's key is the gateway's failure (502), not the caller's 401", async (t) => {
  upstream.reset()
  upstream.enqueue({ fixture: 'openai-responses-error-401-invalid-api-key' })
  const error = await client.responses.create({ model: 'gpt-4.1', input: 'Hello world' }).catch((e: unknown) => e)
  t.match(error, { status: 502 })
})
