// The span export processor (src/telemetry/span-export.ts) keeps the SDK batch processor's
// contract while it encodes spans as they end: a bounded queue whose drops are counted, one export
// at a time, everything sent on forceFlush/shutdown, failures counted by error type, the export's
// own request untraced. First in process against a scripted exporter, then through a gateway:
// N requests with a collector that keeps up are N × their spans, none lost, none twice.
import t from 'tap'
import { context, type Attributes } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { ExportResultCode, isTracingSuppressed, type ExportResult } from '@opentelemetry/core'
import { MeterProvider, MetricReader, type DataPoint, type SumMetricData } from '@opentelemetry/sdk-metrics'
import { TracerProvider } from '@opentelemetry/sdk-trace'
import { SpanExportProcessor, type BatchOptions, type EncodedSpans } from '../../src/telemetry/span-export.ts'
import { startGateway } from '../support/gateway.ts'
import { decodeTraceRequest } from '../support/otlp-proto.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { parsePrometheus, select } from '../support/prometheus.ts'
import { postChat, STARTUP_MS, WAIT_MS } from './helpers.ts'

t.setTimeout(600_000)
// As NodeSDK does in the gateway: without a context manager no context (suppression included) holds.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

/** An exporter the test answers by hand: each export waits in `calls` with its decoded spans. */
class ScriptedExporter {
  readonly calls: { spanNames: string[]; suppressed: boolean; done: (result: ExportResult) => void }[] = []
  shutdowns = 0

  export(spans: EncodedSpans, done: (result: ExportResult) => void): void {
    const request = decodeTraceRequest(spans.body)
    const spanNames = (request.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => (s.spans ?? []).map((span) => span.name ?? '')))
    this.calls.push({ spanNames, suppressed: isTracingSuppressed(context.active()), done })
  }

  async shutdown(): Promise<void> {
    this.shutdowns++
  }
}

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function setUp(options: BatchOptions) {
  const exporter = new ScriptedExporter()
  const processor = new SpanExportProcessor(exporter, options)
  const reader = new TestReader()
  processor.attach(new MeterProvider({ readers: [reader] }))
  const tracer = new TracerProvider({ spanProcessors: [processor] }).getTracer('test')
  const endSpans = (count: number, from = 0) => {
    for (let i = from; i < from + count; i++) tracer.startSpan(`span ${i}`).end()
  }
  /** The processor's own metrics: processed spans by error type, queue size and capacity. */
  const read = async () => {
    const { resourceMetrics } = await reader.collect()
    const metrics = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics) as SumMetricData[]
    const points = (name: string): DataPoint<number>[] => metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? []
    const sum = (name: string, match: (attributes: Attributes) => boolean = () => true) =>
      points(name).filter((p) => match(p.attributes)).reduce((n, p) => n + p.value, 0)
    return {
      exported: sum('otel.sdk.processor.span.processed', (a) => a['error.type'] === undefined),
      dropped: sum('otel.sdk.processor.span.processed', (a) => a['error.type'] === 'queue_full'),
      failed: sum('otel.sdk.processor.span.processed', (a) => typeof a['error.type'] === 'string' && a['error.type'] !== 'queue_full'),
      queue: sum('otel.sdk.processor.span.queue.size'),
      capacity: sum('otel.sdk.processor.span.queue.capacity'),
      names: [...new Set(points('otel.sdk.processor.span.processed').map((p) => String(p.attributes['otel.component.name'])))],
    }
  }
  return { exporter, processor, endSpans, read }
}

const nextTick = () => new Promise((resolve) => setImmediate(resolve))
const success: ExportResult = { code: ExportResultCode.SUCCESS }

t.test('a collector that hangs: one batch out, the queue full, every other span dropped and counted', async (t) => {
  const { exporter, processor, endSpans, read } = setUp({ maxQueueSize: 8, maxExportBatchSize: 8, scheduledDelayMillis: 60_000 })
  endSpans(30)
  await nextTick()
  t.equal(exporter.calls.length, 1, 'one export, which never answers')
  t.same(exporter.calls[0]?.spanNames, ['span 0', 'span 1', 'span 2', 'span 3', 'span 4', 'span 5', 'span 6', 'span 7'])
  t.ok(exporter.calls[0]?.suppressed, "the export's own HTTP request is not traced")
  t.match(await read(), { dropped: 14, queue: 8, capacity: 8, exported: 0, names: ['batching_span_processor/0'] })
  // The collector answers: the waiting batch leaves, and the queue takes spans again.
  exporter.calls[0]!.done(success)
  await nextTick()
  await nextTick()
  t.equal(exporter.calls.length, 2, 'the queued batch follows')
  t.same(exporter.calls[1]?.spanNames.slice(0, 2), ['span 8', 'span 9'])
  endSpans(3, 100)
  t.match(await read(), { exported: 8, dropped: 14, queue: 3 })
  exporter.calls[1]!.done(success)
  const flushed = processor.shutdown()
  await nextTick()
  exporter.calls.at(-1)!.done(success)
  await flushed
  t.same(exporter.calls.at(-1)?.spanNames, ['span 100', 'span 101', 'span 102'], 'shutdown sends what was queued')
  t.equal(exporter.shutdowns, 1)
  endSpans(1, 200)
  t.equal(exporter.calls.length, 3, 'nothing is taken after shutdown')
})

t.test('a failed export is counted by its error type, and the next batch still goes', async (t) => {
  const { exporter, processor, endSpans, read } = setUp({ maxQueueSize: 100, maxExportBatchSize: 4, scheduledDelayMillis: 60_000 })
  endSpans(8)
  await nextTick()
  t.equal(exporter.calls.length, 1, 'one export at a time')
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4318'), { name: 'OTLPExporterError' })
  exporter.calls[0]!.done({ code: ExportResultCode.FAILED, error: refused })
  await nextTick()
  await nextTick()
  t.equal(exporter.calls.length, 2, 'the second batch after the first failed')
  exporter.calls[1]!.done(success)
  t.match(await read(), { failed: 4, exported: 4, queue: 0 })
  const flushed = processor.forceFlush()
  await flushed
  t.equal(exporter.calls.length, 2, 'nothing left to flush')
})

t.test('forceFlush sends every queued span at once, in batches of the batch size', async (t) => {
  const { exporter, processor, endSpans, read } = setUp({ maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 60_000 })
  endSpans(9)
  await nextTick()
  t.equal(exporter.calls.length, 0, 'a partial batch waits for its delay')
  const flushed = processor.forceFlush()
  t.equal(exporter.calls.length, 1)
  exporter.calls[0]!.done(success)
  await flushed
  t.match(await read(), { exported: 9, queue: 0 })
})

t.test('shutdown right after a span filled a batch waits for that batch (it has left the queue, not the process)', async (t) => {
  const { exporter, processor, endSpans, read } = setUp({ maxQueueSize: 100, maxExportBatchSize: 4, scheduledDelayMillis: 60_000 })
  endSpans(4)
  let settled = false
  const flushed = processor.shutdown().then(() => (settled = true))
  await nextTick()
  await nextTick()
  t.equal(exporter.calls.length, 1, 'the full batch is exported in its own turn')
  t.same(exporter.calls[0]?.spanNames, ['span 0', 'span 1', 'span 2', 'span 3'])
  t.notOk(settled, 'shutdown has not returned while that batch is out')
  exporter.calls[0]!.done(success)
  await flushed
  t.equal(exporter.shutdowns, 1)
  t.match(await read(), { exported: 4, dropped: 0 })
})

t.test('a gateway with a collector that keeps up: N requests arrive as exactly N × their spans', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  // Small batches, so that many batch boundaries fall between a request's spans.
  const gateway = await startGateway({
    timeoutMs: STARTUP_MS,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '7', OTEL_BSP_MAX_QUEUE_SIZE: '2048' },
  })
  t.teardown(() => gateway.stop())
  const demo = { model: 'demo/demo-chat', messages: [{ role: 'user', content: 'hello' }] }
  const exported = async () => {
    const exposition = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text())
    const samples = select(exposition, 'otel_sdk_processor_span_processed_total')
    return {
      ok: samples.filter((s) => !('error_type' in s.labels)).reduce((n, s) => n + s.value, 0),
      lost: samples.filter((s) => 'error_type' in s.labels).reduce((n, s) => n + s.value, 0),
    }
  }
  /** Until the processor has seen `count` spans through (each export answered), or WAIT_MS. */
  const settled = async (count: number) => {
    for (const until = Date.now() + WAIT_MS; (await exported()).ok < count && Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  t.equal((await postChat(gateway.url, demo)).status, 200)
  await receiver.waitFor(() => receiver.spans.some((s) => s.kind === 'SERVER'), WAIT_MS)
  const perRequest = receiver.spans.length
  await settled(perRequest)
  t.ok(perRequest >= 3, `one request makes ${perRequest} spans`)

  const requests = 60
  for (let wave = 0; wave < requests / 12; wave++) {
    const answers = await Promise.all(Array.from({ length: 12 }, () => postChat(gateway.url, demo)))
    t.ok(answers.every((a) => a.status === 200), `wave ${wave} served`)
  }
  const total = perRequest * (requests + 1)
  await settled(total)
  t.same(await exported(), { ok: total, lost: 0 }, 'the processor counts each span exported, none lost')
  t.equal(receiver.spans.length, total, 'the collector got each span')
  t.equal(new Set(receiver.spans.map((s) => s.spanId)).size, total, 'each once')
  const traces = Map.groupBy(receiver.spans, (s) => s.traceId)
  t.equal(traces.size, requests + 1, 'one trace per request')
  t.ok([...traces.values()].every((spans) => spans.length === perRequest), 'each whole')
  t.same(receiver.errors, [], 'every request decoded')
})
