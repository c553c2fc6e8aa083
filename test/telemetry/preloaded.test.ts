// SPEC §2.3 "zero-config vs manual": an operator who preloads their own OpenTelemetry setup gets
// the gateway's spans in their pipeline, under their resource, and the gateway installs nothing of
// its own; without a preload the gateway sets itself up under its service name; with
// OTEL_SDK_DISABLED=true it exports nothing and still serves.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import type { GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { postChat, startGateways, WAIT_MS, type TraceContextBody } from './helpers.ts'

const preload = fileURLToPath(new URL('./fixtures/preload-otel.mjs', import.meta.url))

/** Where the operator's own setup exports. */
const operatorCollector = await startOtlpReceiver()
/** Where the gateway's own setup would export (OTEL_EXPORTER_OTLP_ENDPOINT). */
const gatewayCollector = await startOtlpReceiver()
/** Given to the disabled gateway as its endpoint: must stay silent. */
const disabledCollector = await startOtlpReceiver()

const [preloaded, named, disabled] = (await startGateways([
  {
    nodeArgs: ['--import', preload],
    env: { OPERATOR_OTLP_URL: operatorCollector.url, OTEL_EXPORTER_OTLP_ENDPOINT: gatewayCollector.url },
  },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: gatewayCollector.url, OTEL_SERVICE_NAME: 'my-llm-gateway' } },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: disabledCollector.url, OTEL_SDK_DISABLED: 'true' } },
])) as [GatewayProcess, GatewayProcess, GatewayProcess]
t.teardown(async () => {
  await Promise.all([preloaded.stop(), named.stop(), disabled.stop()])
  await Promise.all([operatorCollector.close(), gatewayCollector.close(), disabledCollector.close()])
})

const hello = { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] }

function telemetryMode(gateway: GatewayProcess): unknown {
  return gateway.logs().find((record) => record.msg === 'listening')?.telemetry
}

/** Longer than a span batch (50 ms) and two metric intervals (250 ms): what would be sent, was. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 700))

t.test('preloaded: the operator\'s provider and resource, nothing installed by the gateway', async (t) => {
  t.equal(telemetryMode(preloaded), 'preloaded', 'the listening line says telemetry: "preloaded"')

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

  await settle()
  t.equal(gatewayCollector.spans.filter((s) => s.traceId === traceId).length, 0, 'no span went to the gateway\'s own endpoint')
  // The only other gateway exporting there is the zero-config one named my-llm-gateway.
  const strangers = [...gatewayCollector.spans, ...gatewayCollector.metricExports].filter(
    (item) => item.resource['service.name'] !== 'my-llm-gateway',
  )
  t.equal(strangers.length, 0, 'the preloaded gateway installed no SDK or exporter of its own')
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
