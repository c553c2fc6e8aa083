// Self-test of the OTLP receiver against the real OTel JS SDK and protobuf
// exporters, so gateway tests can trust what the receiver reports.
import t from 'tap'
import { SpanKind, SpanStatusCode, ValueType, context, trace, type HrTime } from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace'
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base'
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts'

const resource = resourceFromAttributes({ 'service.name': 'otlp-receiver-selftest' })
const hrToNanos = ([s, ns]: HrTime) => BigInt(s) * 1_000_000_000n + BigInt(ns)

async function receiverFor(t: { teardown: (fn: () => unknown) => void }): Promise<OtlpReceiver> {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  return receiver
}

t.test('decodes spans exported by OTLPTraceExporter (protobuf)', async (t) => {
  const receiver = await receiverFor(t)
  const provider = new TracerProvider({
    resource,
    spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }) })],
  })
  t.teardown(() => provider.shutdown())
  const tracer = provider.getTracer('selftest', '1.2.3')

  const linked = tracer.startSpan('linked')
  linked.end()
  const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER })
  const child = tracer.startSpan('child', {
    kind: SpanKind.CLIENT,
    attributes: {
      str: 'hello', int: 42, negative: -7, big: 2 ** 40 + 1, double: 3.5, bool: true,
      strings: ['a', 'b'], numbers: [1, 2.5], sparse: ['a', null],
    },
    links: [{ context: linked.spanContext(), attributes: { 'link.reason': 'retry', 'link.attempt': 2 } }],
  }, trace.setSpan(context.active(), parent))
  child.addEvent('retrying', { attempt: 2 })
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' })
  child.end()
  parent.end()
  await provider.forceFlush()

  const [got] = await receiver.waitForSpans((s) => s.name === 'child')
  const gotParent = receiver.spans.find((s) => s.name === 'parent')
  if (!got || !gotParent) throw new Error('unreachable: waitForSpans resolved without the spans')

  t.equal(got.traceId, child.spanContext().traceId)
  t.equal(got.spanId, child.spanContext().spanId)
  t.match(got.traceId, /^[0-9a-f]{32}$/)
  t.equal(got.parentSpanId, parent.spanContext().spanId)
  t.equal(gotParent.parentSpanId, '')
  t.equal(gotParent.kind, 'SERVER')
  t.equal(got.kind, 'CLIENT')
  t.same(got.attributes, {
    str: 'hello', int: 42, negative: -7, big: 2 ** 40 + 1, double: 3.5, bool: true,
    strings: ['a', 'b'], numbers: [1, 2.5], sparse: ['a', null], // null travels as an empty AnyValue
  })
  t.same(got.status, { code: 'ERROR', message: 'boom' })
  t.same(gotParent.status, { code: 'UNSET', message: '' })
  t.same(got.events, [{ name: 'retrying', attributes: { attempt: 2 } }])
  t.same(got.links, [{
    traceId: linked.spanContext().traceId,
    spanId: linked.spanContext().spanId,
    attributes: { 'link.reason': 'retry', 'link.attempt': 2 },
  }])
  t.equal(got.resource['service.name'], 'otlp-receiver-selftest')
  t.same(got.scope, { name: 'selftest', version: '1.2.3' })

  // Nanosecond timestamps must survive exactly (a JS number would round them).
  const readable = child as unknown as ReadableSpan
  t.equal(got.startTimeUnixNano, hrToNanos(readable.startTime))
  t.equal(got.endTimeUnixNano, hrToNanos(readable.endTime))
  t.ok(got.durationMs >= 0 && got.durationMs < 1000, `durationMs ${got.durationMs}`)

  t.same(receiver.spanTree(got.traceId).map((n) => [n.span.name, n.children.map((c) => c.span.name)]), [['parent', ['child']]])
  t.ok(receiver.requestCount.traces >= 3, 'SimpleSpanProcessor sends one request per span')
})

t.test('decodes metrics exported by OTLPMetricExporter (protobuf, gzip)', async (t) => {
  const receiver = await receiverFor(t)
  const provider = new MeterProvider({
    resource,
    readers: [new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: `${receiver.url}/v1/metrics`, compression: CompressionAlgorithm.GZIP }),
      exportIntervalMillis: 60_000, // only the explicit forceFlush() calls export
    })],
  })
  t.teardown(() => provider.shutdown())
  const meter = provider.getMeter('selftest-meter', '0.0.1')

  const requests = meter.createCounter('selftest.requests', { unit: '{request}', description: 'Requests handled' })
  const tokens = meter.createCounter('selftest.tokens', { valueType: ValueType.INT })
  const inflight = meter.createUpDownCounter('selftest.inflight')
  const latency = meter.createHistogram('selftest.latency', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100, 1000] } })

  requests.add(1, { route: '/a' })
  requests.add(2, { route: '/a' })
  requests.add(5, { route: '/b' })
  tokens.add(2 ** 33 + 1)
  inflight.add(3)
  inflight.add(-1)
  for (const ms of [5, 50, 50, 500, 5000]) latency.record(ms)
  await provider.forceFlush()

  const counter = await receiver.waitFor(() => receiver.latestMetric('selftest.requests'))
  t.equal(counter.type, 'sum')
  t.equal(counter.unit, '{request}')
  t.equal(counter.description, 'Requests handled')
  t.equal(counter.isMonotonic, true)
  t.equal(counter.temporality, 'CUMULATIVE')
  t.same(counter.scope, { name: 'selftest-meter', version: '0.0.1' })
  t.equal(counter.resource['service.name'], 'otlp-receiver-selftest')
  const byRoute = (route: string) => counter.dataPoints.find((p) => p.attributes['route'] === route)?.value
  t.equal(byRoute('/a'), 3)
  t.equal(byRoute('/b'), 5)
  t.ok(counter.dataPoints.every((p) => p.timeUnixNano >= p.startTimeUnixNano && p.startTimeUnixNano > 0n))

  t.equal(receiver.latestMetric('selftest.tokens')?.dataPoints[0]?.value, 2 ** 33 + 1, 'int sum (sfixed64 as_int)')

  const upDown = receiver.latestMetric('selftest.inflight')
  t.equal(upDown?.type, 'sum')
  t.equal(upDown?.isMonotonic, false)
  t.equal(upDown?.dataPoints[0]?.value, 2)

  const histogram = receiver.latestMetric('selftest.latency')
  t.equal(histogram?.type, 'histogram')
  t.equal(histogram?.unit, 'ms')
  t.equal(histogram?.temporality, 'CUMULATIVE')
  t.match(histogram?.dataPoints[0], {
    count: 5, sum: 5605, min: 5, max: 5000,
    explicitBounds: [10, 100, 1000],
    bucketCounts: [1, 2, 1, 1],
  })

  // Cumulative exports repeat every metric; latestMetric() is the one holding the totals.
  requests.add(10, { route: '/b' })
  await provider.forceFlush()
  await receiver.waitFor(() => receiver.metricExports.filter((m) => m.name === 'selftest.requests').length === 2)
  t.equal(receiver.latestMetric('selftest.requests')?.dataPoints.find((p) => p.attributes['route'] === '/b')?.value, 15)
})

t.test('accepts OTLP/JSON with hex ids and string int64s', async (t) => {
  const receiver = await receiverFor(t)
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-client' } }] },
      scopeSpans: [{
        scope: { name: 'json' },
        spans: [{
          traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174', name: 'json-span', kind: 2,
          startTimeUnixNano: '1544712660000000000', endTimeUnixNano: '1544712661000000123',
          attributes: [{ key: 'n', value: { intValue: '7' } }, { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'x' }] } } }],
          status: { code: 1 },
        }],
      }],
    }],
  }
  const res = await fetch(`${receiver.url}/v1/traces`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  })
  t.equal(res.status, 200)
  t.equal(await res.text(), '{}')
  t.match(receiver.spans[0], {
    traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', parentSpanId: '',
    kind: 'SERVER', status: { code: 'OK' }, attributes: { n: 7, tags: ['x'] }, resource: { 'service.name': 'json-client' },
  })
  t.equal(receiver.spans[0]?.endTimeUnixNano, 1544712661000000123n)
  t.equal(receiver.spans[0]?.durationMs, 1000.000123)
})

t.test("mode 'fail': exporter gets a failed result and nothing is stored", async (t) => {
  const receiver = await receiverFor(t)
  receiver.setMode('fail')
  const memory = new InMemorySpanExporter()
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] })
  provider.getTracer('selftest').startSpan('doomed').end()
  await provider.shutdown()

  // A 503 is retryable; the short timeout stops the exporter before its first ~1 s backoff.
  const exporter = new OTLPTraceExporter({ url: `${receiver.url}/v1/traces`, timeoutMillis: 300 })
  t.teardown(() => exporter.shutdown())
  const result = await new Promise<ExportResult>((resolve) => exporter.export(memory.getFinishedSpans(), resolve))
  t.equal(result.code, ExportResultCode.FAILED)
  t.equal(receiver.requestCount.traces, 1)
  t.same(receiver.spans, [])
})

t.test("modes 'slow' and 'hang', and close() ending a hanging request", async (t) => {
  const receiver = await receiverFor(t) // closed below too; a second close() is a no-op
  const post = () => fetch(`${receiver.url}/v1/metrics`, {
    method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(),
  })

  receiver.setMode('slow', { slowMs: 200 })
  const started = Date.now()
  t.equal((await post()).status, 200)
  t.ok(Date.now() - started >= 190, 'answered after slowMs')

  receiver.setMode('hang')
  const hanging = post()
  await receiver.waitFor(() => receiver.requestCount.metrics === 2)
  const closing = Date.now()
  await receiver.close()
  t.ok(Date.now() - closing < 1000, 'close() does not wait for the hanging request')
  await t.rejects(hanging, 'the hanging request is cut off')
})

t.test('waitFor rejects with what was seen so far', async (t) => {
  const receiver = await receiverFor(t)
  await t.rejects(receiver.waitFor(() => undefined, 50), /waitFor timed out after 50 ms; spans seen: \[\]; metrics seen: \[\]/)
})
