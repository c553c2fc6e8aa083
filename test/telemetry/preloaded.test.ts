// SPEC §2.3 "zero-config vs manual": an operator who preloads their own OpenTelemetry setup gets
// the gateway's spans in their pipeline, under their resource, and the gateway installs nothing of
// its own; a setup that preloads traces only gets the gateway's own metrics beside it; without a
// preload the gateway sets itself up under its service name; with OTEL_SDK_DISABLED=true it
// exports nothing and still serves. Finding a preloaded provider records nothing.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import type { GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.ts'
import { metricSum } from '../support/prometheus.ts'
import { postChat, startGateways, WAIT_MS, type TraceContextBody } from './helpers.ts'

const preload = fileURLToPath(new URL('./fixtures/preload-otel.mjs', import.meta.url))

/** Where the operator's own setup exports. */
const operatorCollector = await startOtlpReceiver()
/** Where a traces-only operator setup exports, and where that gateway's own metrics go. */
const tracesOnlyCollector = await startOtlpReceiver()
const ownMetricsCollector = await startOtlpReceiver()
/** Where the gateway's own setup would export (OTEL_EXPORTER_OTLP_ENDPOINT). */
const gatewayCollector = await startOtlpReceiver()
/** Given to the disabled gateway as its endpoint: must stay silent. */
const disabledCollector = await startOtlpReceiver()

// Four gateways start at once: on a loaded machine that takes longer than one alone.
t.setTimeout(600_000)
const STARTUP = { timeoutMs: 240_000 }
const [preloaded, tracesOnly, named, disabled] = (await startGateways([
  {
    ...STARTUP,
    nodeArgs: ['--import', preload],
    env: { OPERATOR_OTLP_URL: operatorCollector.url, OPERATOR_METRICS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: gatewayCollector.url },
  },
  {
    ...STARTUP,
    nodeArgs: ['--import', preload],
    env: { OPERATOR_OTLP_URL: tracesOnlyCollector.url, OTEL_EXPORTER_OTLP_ENDPOINT: ownMetricsCollector.url },
  },
  { ...STARTUP, env: { OTEL_EXPORTER_OTLP_ENDPOINT: gatewayCollector.url, OTEL_SERVICE_NAME: 'my-llm-gateway' } },
  { ...STARTUP, env: { OTEL_EXPORTER_OTLP_ENDPOINT: disabledCollector.url, OTEL_SDK_DISABLED: 'true' } },
])) as [GatewayProcess, GatewayProcess, GatewayProcess, GatewayProcess]
t.teardown(async () => {
  await Promise.all([preloaded.stop(), tracesOnly.stop(), named.stop(), disabled.stop()])
  const collectors = [operatorCollector, tracesOnlyCollector, ownMetricsCollector, gatewayCollector, disabledCollector]
  await Promise.all(collectors.map((c) => c.close()))
})

const hello = { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] }

function listening(gateway: GatewayProcess): Record<string, unknown> | undefined {
  return gateway.logs().find((record) => record.msg === 'listening')
}

function telemetryMode(gateway: GatewayProcess): unknown {
  return listening(gateway)?.telemetry
}

/** Longer than a span batch (50 ms) and two metric intervals (250 ms): what would be sent, was. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 700))

t.test('preloaded: the operator\'s provider and resource, nothing installed by the gateway', async (t) => {
  t.equal(telemetryMode(preloaded), 'preloaded', 'the listening line says telemetry: "preloaded"')
  t.same(listening(preloaded)?.signals, { traces: 'preloaded TracerProvider', metrics: 'preloaded MeterProvider' })

  const answer = await postChat(preloaded.url, hello)
  t.equal(answer.status, 200)
  const traceId = answer.headers.get('x-trace-id') ?? ''
  const spanId = answer.headers.get('x-span-id') ?? ''
  t.match(traceId, /^[0-9a-f]{32}$/, 'trace ids still returned in headers')
  t.not(traceId, '0'.repeat(32))
  t.same(answer.json.trace_context, { trace_id: traceId, span_id: spanId }, 'and in the body')
  t.equal(answer.headers.get('traceresponse'), `00-${traceId}-${spanId}-01`)

  const [request] = await operatorCollector.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.request', 1, WAIT_MS)
  t.equal(request?.spanId, spanId, 'the returned span id is the llm.request the operator received')
  t.equal(request?.resource['service.name'], 'operator-own', 'under the operator\'s resource')
  t.equal(request?.attributes['llm.model'], 'demo-chat')
  await operatorCollector.waitForSpans((s) => s.traceId === traceId && s.parentSpanId === spanId, 1, WAIT_MS)
  const ours = operatorCollector.spans.filter((s) => s.traceId === traceId)
  t.same(
    [...new Set(ours.map((s) => s.resource['service.name']))],
    ['operator-own'],
    'every span of the request carries the operator\'s service.name, not the gateway default',
  )

  const metrics = await fetch(`${preloaded.url}/metrics`)
  t.equal(metrics.status, 404, '/metrics is not served by the gateway')
  const body = (await metrics.json()) as { error: { message: string } }
  t.match(body.error.message, /preloaded/i, 'and says the operator\'s MeterProvider is in charge')

  const requests = await operatorCollector.waitFor(() => operatorCollector.latestMetric('llm.requests'), WAIT_MS)
  t.equal(requests.resource['service.name'], 'operator-own', 'the llm metrics go to the operator\'s MeterProvider')

  await settle()
  t.same(spanNames(operatorCollector, 'probe'), [], 'finding the preloaded provider made no span')
  t.equal(gatewayCollector.spans.filter((s) => s.traceId === traceId).length, 0, 'no span went to the gateway\'s own endpoint')
  // The only other gateway exporting there is the zero-config one named my-llm-gateway.
  const strangers = [...gatewayCollector.spans, ...gatewayCollector.metricExports].filter(
    (item) => item.resource['service.name'] !== 'my-llm-gateway',
  )
  t.equal(strangers.length, 0, 'the preloaded gateway installed no SDK or exporter of its own')
})

/** Spans named `name` the collector received (from any gateway exporting there). */
function spanNames(collector: OtlpReceiver, name: string): string[] {
  return collector.spans.filter((s) => s.name === name).map((s) => s.name)
}

t.test('traces-only preload: the operator\'s spans, the gateway\'s own metrics (and it says so)', async (t) => {
  t.equal(telemetryMode(tracesOnly), 'preloaded', 'spans are the operator\'s')
  t.match(
    listening(tracesOnly)?.signals,
    { traces: 'preloaded TracerProvider', metrics: /^GET \/metrics and OTLP to .*\/v1\/metrics \(no MeterProvider was preloaded\)$/ },
    'the listening line says where metrics go, and why',
  )
  const answer = await postChat(tracesOnly.url, hello)
  t.equal(answer.status, 200)
  const traceId = answer.headers.get('x-trace-id') ?? ''
  await tracesOnlyCollector.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.request', 1, WAIT_MS)

  const scrape = await fetch(`${tracesOnly.url}/metrics`)
  t.equal(scrape.status, 200, '/metrics is served')
  t.equal(metricSum(await scrape.text(), 'llm_requests_total', { llm_model: 'demo-chat' }), 1, 'and counts the request')
  const pushed = await ownMetricsCollector.waitFor(() => ownMetricsCollector.latestMetric('llm.requests'), WAIT_MS)
  t.equal(pushed.resource['service.name'], 'sik-llms-gateway', 'pushed over OTLP to OTEL_EXPORTER_OTLP_ENDPOINT, under the gateway\'s name')
  t.equal(ownMetricsCollector.spans.length, 0, 'no span went there: traces are the operator\'s')
  t.equal(tracesOnlyCollector.metricExports.length, 0, 'and no metric to the operator\'s trace pipeline')

  await settle()
  t.same(spanNames(tracesOnlyCollector, 'probe'), [], 'finding the preloaded provider made no span')
})

t.test('zero-config: the gateway\'s own setup, OTEL_SERVICE_NAME as the service name', async (t) => {
  t.equal(telemetryMode(named), 'zero-config')
  const answer = await postChat(named.url, hello)
  t.equal(answer.status, 200)
  const traceId = (answer.json.trace_context as TraceContextBody | undefined)?.trace_id ?? ''
  await gatewayCollector.waitForSpans((s) => s.traceId === traceId && s.kind === 'SERVER', 1, WAIT_MS)
  const spans = gatewayCollector.spans.filter((s) => s.traceId === traceId)
  t.same(
    spans.map((s) => s.name).sort(),
    ['POST /v1/chat/completions', 'llm.demo.chat', 'llm.request'],
    'SERVER, llm.request and the provider span (the demo calls no upstream)',
  )
  t.same([...new Set(spans.map((s) => s.resource['service.name']))], ['my-llm-gateway'], 'OTEL_SERVICE_NAME overrides the default')

  const metric = await gatewayCollector.waitFor(() => gatewayCollector.latestMetric('llm.requests'), WAIT_MS)
  t.equal(metric.resource['service.name'], 'my-llm-gateway', 'metrics carry it too')
  const scrape = await fetch(`${named.url}/metrics`)
  t.equal(scrape.status, 200, '/metrics served')
  t.match(await scrape.text(), /target_info\{[^}]*service_name="my-llm-gateway"/)
})

t.test('OTEL_SDK_DISABLED=true: requests work, nothing is exported', async (t) => {
  t.equal(telemetryMode(disabled), 'disabled')
  const json = await postChat(disabled.url, hello)
  t.equal(json.status, 200)
  t.match((json.json.choices as Array<{ message: { content: string } }>)[0]?.message.content, /demo/)
  const stream = await postChat(disabled.url, { ...hello, stream: true })
  t.equal(stream.status, 200)
  t.ok(stream.text.endsWith('data: [DONE]\n\n'), 'the stream ends normally')
  // No trace exists, so none is pointed at: no all-zero ids, which are not valid W3C ids.
  for (const answer of [json, stream]) {
    t.equal(answer.headers.get('x-trace-id'), null, 'no x-trace-id header')
    t.equal(answer.headers.get('traceresponse'), null, 'no traceresponse header')
  }
  t.equal(json.json.trace_context, null, 'trace_context is null in the body')
  t.match(stream.text, /"trace_context":null/, 'and on the final chunk')

  const metrics = await fetch(`${disabled.url}/metrics`)
  t.equal(metrics.status, 404)
  t.match(((await metrics.json()) as { error: { message: string } }).error.message, /OTEL_SDK_DISABLED/)

  await settle()
  t.same(disabledCollector.requestCount, { traces: 0, metrics: 0 }, 'no export request of any kind')
})
