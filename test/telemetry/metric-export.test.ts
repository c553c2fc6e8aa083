// How metrics leave the process (src/telemetry/metric-push.ts): OTLP reads from the same reader as
// /metrics, so the last points must still go out at shutdown, an operator's delta preference must
// still be honoured, and the HTTP instrumentations' duration histograms are not recorded at all.
import t from 'tap'
import { startGateway, waitForLog } from '../support/gateway.ts'
import { startOtlpReceiver, type ReceivedMetric } from '../support/otlp-receiver.ts'
import { parsePrometheus, select } from '../support/prometheus.ts'
import { postChat, STARTUP_MS, WAIT_MS } from './helpers.ts'

const receiver = await startOtlpReceiver()
t.teardown(() => receiver.close())

const demo = { model: 'demo/demo-chat', messages: [{ role: 'user', content: 'hello' }] }

/** The demo model's llm.requests in one export. */
const demoRequests = (metric: ReceivedMetric | undefined) =>
  metric?.dataPoints.filter((p) => p.attributes['llm.model'] === 'demo-chat').reduce((n, p) => n + (p.value ?? 0), 0)

/** The demo model's llm.requests in the latest export that holds it (cumulative: the total). */
const requestsExported = () => demoRequests(receiver.latestMetric('llm.requests'))

/** Summed over every export since reset() (delta: each holds what happened since the last). */
const deltasExported = () =>
  receiver.metricExports.filter((m) => m.name === 'llm.requests').reduce((n, m) => n + (demoRequests(m) ?? 0), 0)

t.test('the last interval is pushed at shutdown: metrics recorded after the last export are not lost', async (t) => {
  receiver.reset()
  // An interval longer than the test: only the push at shutdown can deliver anything.
  const gateway = await startGateway({
    timeoutMs: STARTUP_MS,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '600000' },
  })
  for (let i = 0; i < 3; i++) t.equal((await postChat(gateway.url, demo)).status, 200)
  t.equal(receiver.requestCount.metrics, 0, 'nothing exported before shutdown')
  t.equal(await gateway.stop('SIGTERM'), 0)
  t.equal(requestsExported(), 3, 'the three requests arrived with the final push')
})

t.test('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta: OTLP gets deltas, /metrics stays cumulative', async (t) => {
  receiver.reset()
  const gateway = await startGateway({
    timeoutMs: STARTUP_MS,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' },
  })
  t.teardown(() => gateway.stop())
  for (let i = 0; i < 2; i++) t.equal((await postChat(gateway.url, demo)).status, 200)
  await receiver.waitFor(() => deltasExported() === 2, WAIT_MS)
  t.equal(receiver.latestMetric('llm.requests')?.temporality, 'DELTA')
  // Each export holds only what happened since the one before: one more request adds one.
  t.equal((await postChat(gateway.url, demo)).status, 200)
  await receiver.waitFor(() => deltasExported() === 3, WAIT_MS)
  const points = receiver.metricExports.filter((m) => m.name === 'llm.requests').map(demoRequests)
  t.notOk(points.some((n) => (n ?? 0) > 2), `no export holds a running total (${points.join(', ')})`)

  const exposition = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text())
  const total = select(exposition, 'llm_requests_total', { llm_model: 'demo-chat' }).reduce((n, s) => n + s.value, 0)
  t.equal(total, 3, '/metrics counts all three')
})

t.test('OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram: OTLP gets exponential histograms, /metrics keeps its buckets', async (t) => {
  receiver.reset()
  const gateway = await startGateway({
    timeoutMs: STARTUP_MS,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'base2_exponential_bucket_histogram' },
  })
  t.teardown(() => gateway.stop())
  t.equal((await postChat(gateway.url, demo)).status, 200)
  await receiver.waitFor(() => requestsExported() === 1, WAIT_MS)
  const duration = receiver.latestMetric('llm.request.duration.seconds')
  t.equal(duration?.type, 'exponentialHistogram', 'the request duration as an exponential histogram')
  t.equal(duration?.dataPoints.reduce((n, p) => n + (p.count ?? 0), 0), 1, 'holding the one request')
  t.equal(receiver.latestMetric('llm.requests')?.type, 'sum', 'counters stay sums')
  const text = await (await fetch(`${gateway.url}/metrics`)).text()
  t.match(text, /^llm_request_duration_seconds_bucket\{/m, '/metrics still has explicit buckets')
})

t.test('OTEL_METRIC_EXPORT_TIMEOUT bounds each metric export', async (t) => {
  receiver.reset()
  receiver.setMode('hang')
  t.teardown(() => receiver.setMode('ok'))
  const gateway = await startGateway({
    timeoutMs: STARTUP_MS,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_METRIC_EXPORT_TIMEOUT: '200' },
  })
  t.teardown(() => gateway.stop())
  t.equal((await postChat(gateway.url, demo)).status, 200)
  await waitForLog(gateway, /metrics export timed out after 200ms/, WAIT_MS)
  t.pass('the export was given up after 200 ms, not the default 30 s (nor the interval)')
})

t.test("the HTTP instrumentations' own duration histograms are not recorded (their spans are)", async (t) => {
  receiver.reset()
  const gateway = await startGateway({ timeoutMs: STARTUP_MS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } })
  t.teardown(() => gateway.stop())
  t.equal((await postChat(gateway.url, demo)).status, 200)
  await receiver.waitFor(() => requestsExported() === 1, WAIT_MS)
  await receiver.waitForSpans((s) => s.kind === 'SERVER', 1, WAIT_MS)
  const names = new Set(receiver.metricExports.map((m) => m.name))
  t.notOk([...names].some((name) => name.startsWith('http.')), `no http.* metrics over OTLP (got ${[...names].sort().join(', ')})`)
  const text = await (await fetch(`${gateway.url}/metrics`)).text()
  t.notMatch(text, /^http_/m, 'no http_* series on /metrics')
})

t.test('a collector that cannot keep up: the span queue stays bounded and every dropped span is counted on /metrics', async (t) => {
  receiver.reset()
  receiver.setMode('hang')
  t.teardown(() => receiver.setMode('ok'))
  // A queue of 8 spans and exports that never finish: the fifth request's spans have nowhere to go.
  const gateway = await startGateway({
    timeoutMs: STARTUP_MS,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_MAX_QUEUE_SIZE: '8',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '8',
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      // The hanging export must not time out (and make room) while the test runs.
      OTEL_EXPORTER_OTLP_TIMEOUT: '600000',
      OTEL_BSP_EXPORT_TIMEOUT: '600000',
    },
  })
  t.teardown(() => gateway.stop('SIGKILL'))
  for (let i = 0; i < 10; i++) t.equal((await postChat(gateway.url, demo)).status, 200, 'served while spans are dropped')
  // 10 requests × 3 spans (SERVER, llm.request, llm.demo.chat; the demo makes no HTTP call): one
  // batch of 8 went out (and hangs), 8 wait in the queue, the rest were dropped and counted. The
  // last SERVER span ends just after its answer, so the scrape is repeated until it is in.
  const read = async () => {
    const exposition = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text())
    const sum = (name: string, labels: Record<string, string> = {}) => select(exposition, name, labels).reduce((n, s) => n + s.value, 0)
    return {
      dropped: sum('otel_sdk_processor_span_processed_total', { error_type: 'queue_full' }),
      queue: sum('otel_sdk_processor_span_queue_size'),
      capacity: sum('otel_sdk_processor_span_queue_capacity'),
    }
  }
  let seen = await read()
  for (const until = Date.now() + WAIT_MS; seen.dropped + seen.queue + 8 < 30 && Date.now() < until; seen = await read()) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(seen.capacity, 8, 'the capacity is shown')
  t.equal(seen.queue, 8, 'the queue is full, and no fuller')
  t.equal(seen.dropped, 14, 'every span that found the queue full is counted')
})
