// SPEC §2.2: after a known set of requests, /metrics must answer the guide's PromQL with the exact
// names, labels and values, and the same instruments must reach the collector over OTLP. Then:
// a collector that refuses or is not there never fails a request and is not logged per request.
import t from 'tap'
import { startGateway, type OpenAIUsage } from '../support/gateway.ts'
import { startOtlpReceiver, type ReceivedMetric } from '../support/otlp-receiver.ts'
import { parsePrometheus, select, type Exposition, type Sample } from '../support/prometheus.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { loadFixture } from '../support/fixtures.ts'
import { postChat, STARTUP_MS, WAIT_MS, type RawAnswer } from './helpers.ts'

/** A subtest's `t`. */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const gateway = await startGateway({
  timeoutMs: STARTUP_MS,
  env: {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    ...providerEnv(upstream),
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
})

const DURATION_LE = ['0.05', '0.1', '0.25', '0.5', '1', '2', '5', '10', '20', '30', '60', '120', '+Inf']
const GENAI_DURATION_BOUNDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
const GENAI_TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]

interface Series {
  model: string
  provider: string
  requests: number
  failed: Record<string, number>
  input: number
  output: number
  cacheRead: number
  cacheWrite: number
  cost: number
  streams: number
}

/** The usage the caller was told: the JSON body's, or the stream's usage chunk. */
function usageOf(answer: RawAnswer): OpenAIUsage {
  const usage = answer.chunks.length ? answer.chunks.at(-1)?.usage : answer.json.usage
  if (!usage) throw new Error(`no usage in the answer: ${answer.text.slice(0, 300)}`)
  return usage as unknown as OpenAIUsage
}

const expected = new Map<string, Series>()
function series(model: string, provider: string): Series {
  const key = `${provider}/${model}`
  let s = expected.get(key)
  if (!s) {
    s = { model, provider, requests: 0, failed: {}, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0, streams: 0 }
    expected.set(key, s)
  }
  return s
}

function account(answer: RawAnswer, model: string, provider: string, streaming: boolean): OpenAIUsage {
  const s = series(model, provider)
  const usage = usageOf(answer)
  s.requests++
  s.input += usage.prompt_tokens
  s.output += usage.completion_tokens
  s.cacheRead += usage.prompt_tokens_details?.cached_tokens ?? 0
  s.cacheWrite += usage.cache_creation_input_tokens ?? 0
  s.cost += usage.cost_usd ?? NaN
  if (streaming) s.streams++
  return usage
}

const hi = [{ role: 'user', content: 'hi' }]

t.before(async () => {
  // OpenAI, not streamed: 15 in, 19 out (recorded).
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const a = await postChat(gateway.url, { model: 'gpt-3.5-turbo', messages: hi })
  const ua = account(a, 'gpt-3.5-turbo', 'openai', false)
  const recorded = loadFixture('openai-chat-text-nonstream').meta.usage as unknown as OpenAIUsage
  if (ua.prompt_tokens !== recorded.prompt_tokens || ua.completion_tokens !== recorded.completion_tokens) {
    throw new Error('the gateway did not pass on the recorded usage')
  }

  // OpenAI, streamed, then a prompt-cache hit on the same model: 23+1149 in, 1024 of them cached.
  upstream.enqueue({ fixture: 'openai-chat-text-stream-include-usage' })
  const b = await postChat(gateway.url, { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: hi })
  account(b, 'gpt-4o-mini', 'openai', true)
  upstream.enqueue({ fixture: 'openai-chat-prompt-cache-hit-nonstream' })
  const c = await postChat(gateway.url, { model: 'gpt-4o-mini', messages: hi })
  account(c, 'gpt-4o-mini', 'openai', false)

  // One failure.
  upstream.enqueue({ status: 500, json: { error: { message: 'boom' } } })
  const d = await postChat(gateway.url, { model: 'gpt-4o', messages: hi })
  if (d.status !== 502) throw new Error(`expected the upstream 500 as a 502, got ${d.status}`)
  const failed = series('gpt-4o', 'openai')
  failed.requests++
  failed.failed.upstream_error = 1

  // The offline demo, free.
  const e = await postChat(gateway.url, { model: 'demo-chat', messages: hi })
  account(e, 'demo-chat', 'demo', false)

  // Anthropic, streamed, writing the prompt cache.
  upstream.enqueue({ fixture: 'anthropic-messages-cache-write-stream' })
  const f = await postChat(gateway.url, {
    model: 'claude-3-5-sonnet-20240620',
    stream: true,
    stream_options: { include_usage: true },
    messages: hi,
  })
  account(f, 'claude-3-5-sonnet-20240620', 'anthropic', true)
})

/** A series with failures only has no tokens and no cost. */
function failedOnly(s: Series): boolean {
  return s.requests === Object.values(s.failed).reduce((n, v) => n + v, 0)
}

function labelsOf(s: Series): Record<string, string> {
  return { llm_model: s.model, llm_provider: s.provider }
}

function one(t: Test, exposition: Exposition, name: string, labels: Record<string, string>): Sample | undefined {
  const found = select(exposition, name, labels)
  t.equal(found.length, 1, `one ${name}${JSON.stringify(labels)}`)
  return found[0]
}

function close(a: number | undefined, b: number): boolean {
  return a !== undefined && Math.abs(a - b) <= 1e-12 + Math.abs(b) * 1e-12
}

t.test('GET /metrics answers the guide\'s PromQL: names, labels, values', async (t) => {
  const response = await fetch(`${gateway.url}/metrics`)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/plain/)
  const exposition = parsePrometheus(await response.text())

  for (const name of ['llm_requests_total', 'llm_requests_failed_total', 'llm_tokens_input_total', 'llm_tokens_output_total', 'llm_cache_read_tokens_total', 'llm_cache_write_tokens_total']) {
    t.equal(exposition.types.get(name), 'counter', `${name} is a counter`)
  }
  t.equal(exposition.types.get('llm_request_duration_seconds'), 'histogram')
  t.equal(exposition.types.get('llm_time_to_first_token_seconds'), 'histogram')
  t.ok(exposition.types.has('llm_cost_total_usd'), 'llm_cost_total_usd is exposed under that exact name')

  const requests = select(exposition, 'llm_requests_total')
  // Exactly the token counters' labels, so the guide's `rate(tokens) / rate(requests)` and
  // `rate(failed) / rate(requests)` match one to one, as printed.
  for (const name of ['llm_requests_total', 'llm_requests_failed_total', 'llm_tokens_input_total', 'llm_tokens_output_total']) {
    const found = select(exposition, name)
    t.ok(found.length > 0, `${name} has series`)
    t.same(found.map((s) => Object.keys(s.labels).sort()), found.map(() => ['llm_model', 'llm_provider']), `${name} is labelled llm_model, llm_provider only`)
  }
  const totalRequests = [...expected.values()].reduce((n, s) => n + s.requests, 0)
  t.equal(requests.reduce((n, s) => n + s.value, 0), totalRequests, 'every request counted once')

  for (const s of expected.values()) {
    const labels = labelsOf(s)
    const what = `${s.provider}/${s.model}`
    t.equal(one(t, exposition, 'llm_requests_total', labels)?.value, s.requests, `${what}: llm_requests_total`)
    const failed = Object.values(s.failed).reduce((n, v) => n + v, 0)
    t.same(select(exposition, 'llm_requests_failed_total', labels).map((f) => f.value), failed ? [failed] : [], `${what}: llm_requests_failed_total`)

    const duration = select(exposition, 'llm_request_duration_seconds_bucket', labels)
    t.same(duration.map((b) => b.labels.le), DURATION_LE, `${what}: duration buckets in seconds, 0.05 … 120`)
    t.ok(duration.every((b, i) => i === 0 || b.value >= duration[i - 1]!.value), `${what}: buckets are cumulative`)
    const count = one(t, exposition, 'llm_request_duration_seconds_count', labels)?.value
    t.equal(count, s.requests, `${what}: llm_request_duration_seconds_count`)
    t.equal(duration.at(-1)?.value, count, `${what}: the +Inf bucket holds every request`)
    const seconds = one(t, exposition, 'llm_request_duration_seconds_sum', labels)?.value ?? NaN
    t.ok(seconds > 0 && seconds < 30 * s.requests, `${what}: the duration sum is in seconds`)

    const ttft = select(exposition, 'llm_time_to_first_token_seconds_count', labels)
    if (s.streams === 0) {
      t.same(ttft, [], `${what}: no time to first token without a stream`)
    } else {
      t.equal(ttft[0]?.value, s.streams, `${what}: llm_time_to_first_token_seconds_count`)
      const ttftSum = one(t, exposition, 'llm_time_to_first_token_seconds_sum', labels)?.value ?? NaN
      t.ok(ttftSum > 0 && ttftSum <= seconds, `${what}: first token in seconds, within the request`)
      const bounds = select(exposition, 'llm_time_to_first_token_seconds_bucket', labels).map((b) => b.labels.le)
      t.equal(bounds.at(-1), '+Inf')
      const finite = bounds.slice(0, -1).map(Number)
      t.ok(finite.length > 3 && finite[0]! <= 0.05 && finite.at(-1)! >= 10 && finite.at(-1)! <= 120, `${what}: TTFT buckets in seconds`)
    }

    if (failedOnly(s)) {
      t.same(select(exposition, 'llm_tokens_input_total', labels), [], `${what}: no tokens counted for a failure`)
      continue
    }
    t.equal(one(t, exposition, 'llm_tokens_input_total', labels)?.value, s.input, `${what}: llm_tokens_input_total`)
    t.equal(one(t, exposition, 'llm_tokens_output_total', labels)?.value, s.output, `${what}: llm_tokens_output_total`)
    t.equal(one(t, exposition, 'llm_cache_read_tokens_total', labels)?.value, s.cacheRead, `${what}: llm_cache_read_tokens_total`)
    t.equal(one(t, exposition, 'llm_cache_write_tokens_total', labels)?.value, s.cacheWrite, `${what}: llm_cache_write_tokens_total`)
    const cost = one(t, exposition, 'llm_cost_total_usd', labels)?.value
    t.ok(close(cost, s.cost), `${what}: llm_cost_total_usd ${cost} = sum of usage.cost_usd ${s.cost}`)
  }
  t.equal(expected.get('openai/gpt-4o-mini')?.cacheRead, 1024, 'the cache hit was counted (recorded: 1024 cached tokens)')
  t.equal(expected.get('anthropic/claude-3-5-sonnet-20240620')?.cacheWrite, 1165, 'the cache write was counted (recorded: 1165)')
  t.equal(expected.get('demo/demo-chat')?.cost, 0, 'the demo costs a real zero')
})

t.test('the same instruments reach the collector over OTLP, with units and temporality', async (t) => {
  const totalRequests = [...expected.values()].reduce((n, s) => n + s.requests, 0)
  await receiver.waitFor(() => {
    const m = receiver.latestMetric('llm.requests')
    return m !== undefined && m.dataPoints.reduce((n, p) => n + (p.value ?? 0), 0) >= totalRequests
  }, WAIT_MS)
  const metric = (name: string): ReceivedMetric => {
    const m = receiver.latestMetric(name)
    if (!m) throw new Error(`metric ${name} never arrived`)
    return m
  }
  const point = (m: ReceivedMetric, s: Series, extra: Record<string, string> = {}) =>
    m.dataPoints.filter(
      (p) =>
        p.attributes['llm.model'] === s.model &&
        p.attributes['llm.provider'] === s.provider &&
        Object.entries(extra).every(([k, v]) => p.attributes[k] === v),
    )

  const counters: Array<[string, string, (s: Series) => number]> = [
    ['llm.requests', '{request}', (s) => s.requests],
    ['llm.tokens.input', '{token}', (s) => s.input],
    ['llm.tokens.output', '{token}', (s) => s.output],
    ['llm.cache.read.tokens', '{token}', (s) => s.cacheRead],
    ['llm.cache.write.tokens', '{token}', (s) => s.cacheWrite],
  ]
  for (const [name, unit, want] of counters) {
    const m = metric(name)
    t.equal(m.type, 'sum', `${name} is a sum`)
    t.equal(m.isMonotonic, true, `${name} is monotonic (a counter)`)
    t.equal(m.temporality, 'CUMULATIVE', `${name} is cumulative`)
    t.equal(m.unit, unit, `${name} unit`)
    t.equal(m.resource['service.name'], 'sik-llms-gateway')
    for (const s of expected.values()) {
      const points = point(m, s)
      if (name !== 'llm.requests' && failedOnly(s)) continue
      t.equal(points[0]?.value, want(s), `${name} ${s.provider}/${s.model}`)
    }
  }

  const failed = metric('llm.requests.failed')
  t.equal(failed.isMonotonic, true)
  const gpt4o = expected.get('openai/gpt-4o')!
  t.equal(point(failed, gpt4o)[0]?.value, 1, 'the failure')
  t.same(Object.keys(point(failed, gpt4o)[0]?.attributes ?? {}).sort(), ['llm.model', 'llm.provider'], 'labelled like the token counters')

  const cost = metric('llm.cost.total_usd')
  t.equal(cost.type, 'sum', 'llm.cost.total_usd is a sum')
  t.equal(cost.temporality, 'CUMULATIVE')
  for (const s of expected.values()) {
    if (failedOnly(s)) continue
    t.ok(close(point(cost, s)[0]?.value, s.cost), `llm.cost.total_usd ${s.provider}/${s.model}`)
  }

  const duration = metric('llm.request.duration.seconds')
  t.equal(duration.type, 'histogram')
  t.equal(duration.unit, 's')
  for (const s of expected.values()) {
    const [p] = point(duration, s)
    t.same(p?.explicitBounds, DURATION_LE.slice(0, -1).map(Number), `${s.provider}/${s.model}: seconds buckets`)
    t.equal(p?.count, s.requests)
  }
  const ttft = metric('llm.time_to_first_token.seconds')
  t.equal(ttft.type, 'histogram')
  t.equal(ttft.unit, 's')
  t.equal(point(ttft, expected.get('openai/gpt-4o-mini')!)[0]?.count, 1, 'one stream on gpt-4o-mini')

  const tokenUsage = metric('gen_ai.client.token.usage')
  t.equal(tokenUsage.type, 'histogram')
  t.equal(tokenUsage.unit, '{token}')
  const genAi = (m: ReceivedMetric, model: string, extra: Record<string, string> = {}) =>
    m.dataPoints.filter(
      (p) =>
        p.attributes['gen_ai.request.model'] === model &&
        p.attributes['gen_ai.operation.name'] === 'chat' &&
        Object.entries(extra).every(([k, v]) => p.attributes[k] === v),
    )
  const turboIn = genAi(tokenUsage, 'gpt-3.5-turbo', { 'gen_ai.token.type': 'input', 'gen_ai.provider.name': 'openai' })[0]
  const turboOut = genAi(tokenUsage, 'gpt-3.5-turbo', { 'gen_ai.token.type': 'output' })[0]
  t.same(turboIn?.explicitBounds, GENAI_TOKEN_BOUNDS, 'gen_ai.client.token.usage has the semconv boundaries')
  t.equal(turboIn?.sum, expected.get('openai/gpt-3.5-turbo')!.input)
  t.equal(turboOut?.sum, expected.get('openai/gpt-3.5-turbo')!.output)

  const opDuration = metric('gen_ai.client.operation.duration')
  t.equal(opDuration.type, 'histogram')
  t.equal(opDuration.unit, 's')
  const turbo = genAi(opDuration, 'gpt-3.5-turbo')[0]
  t.same(turbo?.explicitBounds, GENAI_DURATION_BOUNDS, 'gen_ai.client.operation.duration has the semconv boundaries')
  t.equal(turbo?.count, 1)
  t.equal(genAi(opDuration, 'gpt-4o', { 'error.type': 'upstream_error' })[0]?.count, 1, 'the failed operation carries error.type')
  t.same(receiver.errors, [], 'every export decoded')
})

async function demoRequests(n: number): Promise<RawAnswer[]> {
  const out: RawAnswer[] = []
  for (let i = 0; i < n; i++) {
    out.push(await postChat(gateway.url, { model: 'demo-chat', messages: [{ role: 'user', content: `hello ${i}` }] }))
  }
  return out
}

function exportComplaints(): string[] {
  return gateway.lines.filter((line) => line.toLowerCase().includes('opentelemetry'))
}

function assertServed(t: Test, answers: RawAnswer[]) {
  t.same(answers.map((a) => a.status), answers.map(() => 200), 'every request succeeded')
  t.ok(answers.every((a) => /^[0-9a-f]{32}$/.test(a.headers.get('x-trace-id') ?? '')), 'trace ids still returned')
}

// These two run last: they break the collector the tests above read from.
t.test('a collector that refuses everything: requests succeed, the problem is logged a few times only', async (t) => {
  // A local export can outlast the 250 ms interval (which caps the timeout, as in the SDK) when
  // other test files load the machine: a slow export is said, but it is not what this checks.
  t.same(exportComplaints().filter((line) => !line.includes('timed out')), [], 'nothing to complain about while the collector answers')
  // Counted from here, so that a slow export said above counts for nothing below.
  const said = exportComplaints().length
  receiver.setMode('fail')
  const before = { ...receiver.requestCount }
  assertServed(t, await demoRequests(20))
  // Many exports have failed by now: span batches after the requests, metrics every 250 ms.
  await receiver.waitFor(() => receiver.requestCount.traces >= before.traces + 2 && receiver.requestCount.metrics >= before.metrics + 6, WAIT_MS)
  const complaints = exportComplaints().length - said
  t.ok(complaints >= 1, 'the export problem is logged')
  t.ok(complaints <= 5, `logged ${complaints} times for 20 requests and many failed exports`)
})

t.test('then no collector at all (connection refused): requests succeed, still not logged per request', async (t) => {
  const before = exportComplaints().length
  await receiver.close()
  assertServed(t, await demoRequests(20))
  // Let several metric intervals (250 ms) and span batches (50 ms) fail against the closed port.
  await new Promise((resolve) => setTimeout(resolve, 1200))
  const added = exportComplaints().length - before
  t.ok(added <= 5, `logged ${added} more times for 20 requests and many refused connections`)
})
