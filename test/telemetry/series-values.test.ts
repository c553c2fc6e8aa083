// Every metric equal to what the responses reported (issue 15). The gateway keeps its metric
// series as plain numbers (src/telemetry/series.ts) rather than in the SDK: after requests with
// known usage, sent many at once, each counter, sum, count, min, max and histogram bucket must be
// exactly what those requests did, on /metrics and in the OTLP export alike.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver, type ReceivedDataPoint } from '../support/otlp-receiver.ts'
import { parsePrometheus, select, type Exposition } from '../support/prometheus.ts'
import { providerEnv, startUpstream, type Reply } from '../support/upstream.ts'
import { postChat, STARTUP_MS, WAIT_MS, type RawAnswer } from './helpers.ts'

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const gateway = await startGateway({
  timeoutMs: STARTUP_MS,
  env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '300', ...providerEnv(upstream) },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
})

const MODEL = 'gpt-4o-mini'
const RESPONSE_MODEL = 'gpt-4o-mini-2024-07-18'
const LABELS = { llm_model: MODEL, llm_provider: 'openai' }
const GENAI = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: MODEL, gen_ai_response_model: RESPONSE_MODEL }
const GENAI_TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]

// Token counts on, just under and just over the GenAI token boundaries (an upper bound holds its
// own value), and zero.
const INPUTS = [0, 1, 2, 4, 5, 16, 17, 1024, 1025, 70_000, 3, 64]
const OUTPUTS = [1, 0, 7, 256, 257, 4096, 9, 15, 16, 100, 33, 2]
const usage = (i: number) => ({ prompt_tokens: INPUTS[i]!, completion_tokens: OUTPUTS[i]!, total_tokens: INPUTS[i]! + OUTPUTS[i]! })

function jsonReply(i: number): Reply {
  return {
    status: 200,
    json: {
      id: `chatcmpl-${i}`,
      object: 'chat.completion',
      created: 1,
      model: RESPONSE_MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: usage(i),
    },
  }
}

function streamReply(i: number): Reply {
  const base = { id: `chatcmpl-s${i}`, object: 'chat.completion.chunk', created: 1, model: RESPONSE_MODEL }
  const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`
  const body =
    chunk({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }] }) +
    chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
    chunk({ ...base, choices: [], usage: usage(i) }) +
    'data: [DONE]\n\n'
  return { status: 200, headers: { 'content-type': 'text/event-stream' }, body }
}

const hi = [{ role: 'user', content: 'hi' }]
const answers: RawAnswer[] = []
const ROUNDS = 3

t.before(async () => {
  // All at once within a round: the replies are alike but for their usage, which the totals do
  // not care how it was shared out.
  for (let round = 0; round < ROUNDS; round++) {
    upstream.enqueue(...INPUTS.map((_, i) => jsonReply(i)))
    answers.push(...(await Promise.all(INPUTS.map(() => postChat(gateway.url, { model: MODEL, messages: hi })))))
    upstream.enqueue(...INPUTS.map((_, i) => streamReply(i)))
    const streamed = INPUTS.map(() => postChat(gateway.url, { model: MODEL, stream: true, stream_options: { include_usage: true }, messages: hi }))
    answers.push(...(await Promise.all(streamed)))
  }
  const failed = answers.filter((a) => a.status !== 200)
  if (failed.length) throw new Error(`${failed.length} requests failed: ${failed[0]?.text.slice(0, 300)}`)
})

const REQUESTS = ROUNDS * INPUTS.length * 2
const STREAMS = ROUNDS * INPUTS.length
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
const repeated = (values: number[]) => Array.from({ length: ROUNDS * 2 }, () => values).flat()

/** Per bucket (the last one +Inf), how many of `values` it holds alone: the SDK's rule, written out. */
function bucketCounts(values: number[], bounds: number[]): number[] {
  const counts = new Array<number>(bounds.length + 1).fill(0)
  for (const value of values) {
    const bucket = bounds.findIndex((bound) => value <= bound)
    counts[bucket === -1 ? bounds.length : bucket]! += 1
  }
  return counts
}

const expectedTokens = {
  input: { values: repeated(INPUTS), counts: bucketCounts(repeated(INPUTS), GENAI_TOKEN_BOUNDS) },
  output: { values: repeated(OUTPUTS), counts: bucketCounts(repeated(OUTPUTS), GENAI_TOKEN_BOUNDS) },
}

function value(exposition: Exposition, name: string, labels: Record<string, string>): number | undefined {
  const found = select(exposition, name, labels)
  return found.length === 1 ? found[0]!.value : undefined
}

t.test('/metrics: every counter and histogram holds exactly what the requests did', async (t) => {
  const exposition = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text())
  const costs = answers.map((a) => {
    const reported = (a.chunks.length ? a.chunks.at(-1)?.usage : a.json.usage) as { cost_usd?: number } | undefined
    return reported?.cost_usd ?? NaN
  })
  t.ok(costs.every((c) => c > 0), 'every answer reported its cost')

  t.equal(value(exposition, 'llm_requests_total', LABELS), REQUESTS)
  t.equal(value(exposition, 'llm_requests_failed_total', LABELS), undefined, 'no failure, so no failure series')
  t.equal(value(exposition, 'llm_tokens_input_total', LABELS), ROUNDS * 2 * sum(INPUTS))
  t.equal(value(exposition, 'llm_tokens_output_total', LABELS), ROUNDS * 2 * sum(OUTPUTS))
  t.equal(value(exposition, 'llm_cache_read_tokens_total', LABELS), 0, 'a zero added is a series')
  const cost = value(exposition, 'llm_cost_total_usd', LABELS) ?? NaN
  t.ok(Math.abs(cost - sum(costs)) <= 1e-12, `llm_cost_total_usd ${cost} = the answers' cost_usd ${sum(costs)}`)
  t.equal(value(exposition, 'llm_request_duration_seconds_count', LABELS), REQUESTS)
  t.equal(value(exposition, 'llm_request_duration_seconds_bucket', { ...LABELS, le: '+Inf' }), REQUESTS)
  t.equal(value(exposition, 'llm_time_to_first_token_seconds_count', LABELS), STREAMS, 'one first token per stream')
  t.equal(value(exposition, 'gen_ai_client_operation_duration_count', GENAI), REQUESTS)

  for (const type of ['input', 'output'] as const) {
    const labels = { ...GENAI, gen_ai_token_type: type }
    const want = expectedTokens[type]
    t.equal(value(exposition, 'gen_ai_client_token_usage_count', labels), want.values.length, `${type}: count`)
    t.equal(value(exposition, 'gen_ai_client_token_usage_sum', labels), sum(want.values), `${type}: sum`)
    let cumulative = 0
    const buckets = GENAI_TOKEN_BOUNDS.map((bound, i) => {
      cumulative += want.counts[i]!
      return [String(bound), cumulative] as const
    })
    buckets.push(['+Inf', want.values.length])
    for (const [le, count] of buckets) {
      t.equal(value(exposition, 'gen_ai_client_token_usage_bucket', { ...labels, le }), count, `${type}: le=${le}`)
    }
  }
})

t.test('OTLP: the same points, cumulative, with bucket counts, min and max', async (t) => {
  const tokenPoint = (type: string) =>
    receiver.latestMetric('gen_ai.client.token.usage')?.dataPoints.find((p) => p.attributes['gen_ai.token.type'] === type)
  await receiver.waitFor(() => (tokenPoint('output')?.count ?? 0) >= REQUESTS, WAIT_MS)

  const requests = receiver.latestMetric('llm.requests')
  t.equal(requests?.temporality, 'CUMULATIVE')
  t.equal(requests?.isMonotonic, true)
  t.equal(requests?.scope.name, 'sik-llms-gateway', 'under the gateway\'s scope')
  t.equal(requests?.resource['service.name'], 'sik-llms-gateway', 'under the gateway\'s resource')
  t.same(requests?.dataPoints.map((p) => [p.attributes, p.value]), [[{ 'llm.model': MODEL, 'llm.provider': 'openai' }, REQUESTS]])

  const cost = receiver.latestMetric('llm.cost.total_usd')
  t.equal(cost?.isMonotonic, false, 'llm.cost.total_usd stays a non-monotonic sum (no _total in Prometheus)')

  for (const type of ['input', 'output'] as const) {
    const point = tokenPoint(type) as ReceivedDataPoint
    const want = expectedTokens[type]
    t.same(point.attributes, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': MODEL,
      'gen_ai.response.model': RESPONSE_MODEL,
      'gen_ai.token.type': type,
    })
    t.same(point.explicitBounds, GENAI_TOKEN_BOUNDS, `${type}: the semconv boundaries`)
    t.same(point.bucketCounts, want.counts, `${type}: every bucket`)
    t.equal(point.count, want.values.length)
    t.equal(point.sum, sum(want.values))
    t.equal(point.min, Math.min(...want.values), `${type}: min`)
    t.equal(point.max, Math.max(...want.values), `${type}: max`)
    t.ok(point.startTimeUnixNano > 0n && point.startTimeUnixNano <= point.timeUnixNano, `${type}: starts before it ends`)
  }

  const duration = receiver.latestMetric('llm.request.duration.seconds')?.dataPoints[0]
  t.equal(duration?.count, REQUESTS)
  t.equal(sum(duration?.bucketCounts ?? []), REQUESTS, 'the buckets hold every duration')
  t.ok((duration?.min ?? -1) >= 0 && (duration?.min ?? 0) <= (duration?.max ?? -1), 'min ≤ max')
  t.same(receiver.errors, [], 'every export decoded')
})
