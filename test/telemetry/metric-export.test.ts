// How metrics leave the process (src/telemetry/metric-push.ts): OTLP reads from the same reader as
// /metrics, so the last points must still go out at shutdown, an operator's delta preference must
// still be honoured, and the HTTP instrumentations' duration histograms are not recorded at all.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { parsePrometheus, select } from '../support/prometheus.ts'
import { postChat, STARTUP_MS, WAIT_MS } from './helpers.ts'

const receiver = await startOtlpReceiver()
t.teardown(() => receiver.close())

const demo = { model: 'demo/demo-chat', messages: [{ role: 'user', content: 'hello' }] }

/** Sum of a metric's points with the demo model, in the latest export that holds it. */
function requestsExported(): number | undefined {
  const metric = receiver.latestMetric('llm.requests')
  return metric?.dataPoints.filter((p) => p.attributes['llm.model'] === 'demo-chat').reduce((n, p) => n + (p.value ?? 0), 0)
}

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
  await receiver.waitFor(() => requestsExported() === 2, WAIT_MS)
  t.equal(receiver.latestMetric('llm.requests')?.temporality, 'DELTA')
  // A later export holds only what happened since: one more request is a point of 1, not 3.
  const exportsBefore = receiver.metricExports.length
  t.equal((await postChat(gateway.url, demo)).status, 200)
  await receiver.waitFor(() => receiver.metricExports.length > exportsBefore && requestsExported() === 1, WAIT_MS)
  t.pass('the next export counted only the new request')

  const exposition = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text())
  const total = select(exposition, 'llm_requests_total', { llm_model: 'demo-chat' }).reduce((n, s) => n + s.value, 0)
  t.equal(total, 3, '/metrics counts all three')
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
