// How the gateway's spans leave the process: each span is encoded to OTLP/protobuf as it ends, in
// a bounded queue of batches that counts what it drops, and a batch is posted by the SDK's
// OTLP/HTTP transport (SPEC §2.3: export never blocks or fails a request).
//
// This replaces the SDK's BatchSpanProcessor + OTLPTraceExporter, which kept every span object for
// up to 5 s and then serialised 512 of them at once inside the span.end() that filled the batch
// (a pause of several ms every 128 requests, most of the p99 at one request at a time). What it
// kept: OTEL_BSP_* (queue, batch size, delay, export timeout), one export at a time, the
// processor's metrics under the SDK's names, OTEL_EXPORTER_OTLP_(TRACES_)* through the SDK's own
// transport (retries, timeout, headers), tracing suppressed for the export's own request.
// It runs in the telemetry worker (telemetry-worker.ts), on spans read back from the records the
// main thread hands over (span-hand-off.ts).
import { context, diag, ROOT_CONTEXT, TraceFlags, type Attributes, type Context, type MeterProvider, type ObservableResult } from '@opentelemetry/api'
import { ExportResultCode, globalErrorHandler, suppressTracing, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace'
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base'
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http'
import { decodeExportResponse, SpanBatch } from './otlp-span-batch.ts'
import { SpanEncoder } from './otlp-span-encoder.ts'
import { ProtoWriter } from './protobuf.ts'
import type { SpanBytes } from './trace-store.ts'


/** An encoded batch as the transport sends it, and how many spans it holds (for its metrics). */
export interface EncodedSpans {
  body: Uint8Array
  spanCount: number
}

/**
 * The SDK's OTLP/HTTP exporter for spans, given bytes already encoded: endpoint, headers, timeout,
 * compression and retries as OTLPTraceExporter reads them from OTEL_EXPORTER_OTLP_(TRACES_)*.
 */
export class EncodedSpanExporter extends OTLPExporterBase<EncodedSpans> {
  constructor() {
    super(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
        { serializeRequest: (spans: EncodedSpans) => spans.body, deserializeResponse: decodeExportResponse },
        'otlp_http_span_exporter',
        { name: 'span', countItems: (spans: EncodedSpans) => spans.spanCount },
        undefined,
      ),
    )
  }
}

export interface BatchOptions {
  maxQueueSize?: number | undefined
  maxExportBatchSize?: number | undefined
  scheduledDelayMillis?: number | undefined
  exportTimeoutMillis?: number | undefined
}

/**
 * SDK 3's BatchSpanProcessor no longer reads OTEL_BSP_* itself (only NodeSDK's own default
 * processor does), so a processor we construct must be given them, or they are silently ignored.
 */
export function batchOptionsFromEnv(env: Record<string, string | undefined>): BatchOptions {
  const count = (name: string): number | undefined => {
    const raw = env[name]?.trim()
    const value = raw ? Number(raw) : NaN
    return Number.isFinite(value) && value >= 0 ? value : undefined
  }
  return {
    maxQueueSize: count('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: count('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
    scheduledDelayMillis: count('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: count('OTEL_BSP_EXPORT_TIMEOUT'),
  }
}

/** A new batch buffer is sized from the batch before (the power of two its bytes fit in). */
const MIN_BATCH_BYTES = 4 * 1024
const MAX_BATCH_BYTES = 1024 * 1024
/** One batch fills while one is sent: two buffers cover the steady state. */
const MAX_SPARE_WRITERS = 2

interface SpanExporter {
  export(spans: EncodedSpans, done: (result: ExportResult) => void): void
  shutdown(): Promise<void>
}

/**
 * A batch span processor whose queue holds encoded spans. Like the SDK's: a span that finds the
 * queue full (OTEL_BSP_MAX_QUEUE_SIZE spans waiting) is dropped and counted; a batch leaves when
 * it is full or OTEL_BSP_SCHEDULE_DELAY after its first span, one export at a time; the spans of
 * an export in flight no longer count against the queue; forceFlush and shutdown send everything.
 */
export class SpanExportProcessor implements SpanProcessor {
  private readonly exporter: SpanExporter
  private readonly maxQueueSize: number
  private readonly maxBatch: number
  private readonly delayMs: number
  private readonly timeoutMs: number
  private readonly encoder = new SpanEncoder()
  /** Oldest first; the last one is being filled. */
  private readonly batches: SpanBatch[] = []
  private queued = 0
  private exporting = false
  /** The batch on its way out, from when it left the queue until its export settled. */
  private inFlight: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  /** Dropped since the last "Dropped N spans" warning. */
  private dropped = 0
  private metrics: ProcessorEvents | undefined
  /** The next new batch buffer's size, from the last batch's (512 spans of the gateway's take ~250 KB). */
  private batchBytes = 64 * 1024
  /**
   * Batch buffers whose request has been laid out, written again by the next batches: a buffer
   * used once and dropped cost about 15 % of a request's CPU at c=32 (bench/RESULTS.md, sixth round).
   */
  private readonly spareWriters: ProtoWriter[] = []
  private stopped: Promise<void> | undefined
  /** The span encoded last and its batch, for the trace store (encoded()). */
  private lastSpan: ReadableSpan | undefined
  private lastBatch: SpanBatch | undefined
  private readonly lastBytes: SpanBytes = { buf: new Uint8Array(0), at: 0, end: 0 }

  constructor(exporter: SpanExporter, options: BatchOptions = {}) {
    this.exporter = exporter
    this.maxQueueSize = options.maxQueueSize ?? 2048
    this.maxBatch = options.maxExportBatchSize ?? 512
    this.delayMs = options.scheduledDelayMillis ?? 5000
    this.timeoutMs = options.exportTimeoutMillis ?? 30000
    if (this.maxBatch > this.maxQueueSize) {
      diag.warn('BatchSpanProcessor: maxExportBatchSize must be smaller or equal to maxQueueSize, setting maxExportBatchSize to match maxQueueSize')
      this.maxBatch = this.maxQueueSize
    }
  }

  /**
   * Shows the queue and counts what is dropped (`otel_sdk_processor_span_processed_total` with
   * `error_type="queue_full"`, `otel_sdk_processor_span_queue_size`, `…_capacity`) through the
   * SDK's MeterProvider, which NodeSDK makes after it took its span processors.
   */
  attach(meterProvider: MeterProvider): void {
    this.metrics ??= new ProcessorMetrics(meterProvider, this.maxQueueSize, () => this.queued)
  }

  /** Where the spans processed and dropped are told instead (the telemetry worker tells the main thread). */
  report(events: ProcessorEvents): void {
    this.metrics = events
  }

  /** Spans waiting in the queue. */
  get queueSize(): number {
    return this.queued
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.stopped || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return
    if (this.queued >= this.maxQueueSize) {
      if (this.dropped === 0) diag.debug('maxQueueSize reached, dropping spans')
      this.dropped++
      this.metrics?.dropped(1)
      return
    }
    if (this.dropped > 0) {
      diag.warn(`Dropped ${this.dropped} spans because maxQueueSize reached`)
      this.dropped = 0
    }
    let batch = this.batches.at(-1)
    if (!batch || batch.count >= this.maxBatch) {
      batch = new SpanBatch(this.spareWriters.pop() ?? new ProtoWriter(this.batchBytes))
      this.batches.push(batch)
    }
    try {
      batch.add(this.encoder, span)
    } catch (error) {
      // A span the encoder cannot write is lost, never the request that ended it.
      if (batch.count === 0) this.batches.pop()
      globalErrorHandler(error as Error)
      return
    }
    this.queued++
    this.lastSpan = span
    this.lastBatch = batch
    this.schedule()
  }

  /**
   * Where `span` was encoded to, if it is the span this processor took last (the trace store, the
   * next processor, copies them rather than encoding the span again); undefined otherwise. Valid
   * until the next span ends: batch buffers are written again once their batch has left.
   */
  encoded(span: ReadableSpan): SpanBytes | undefined {
    if (span !== this.lastSpan) return undefined
    this.lastBatch!.lastSpan(this.lastBytes)
    return this.lastBytes
  }

  forceFlush(): Promise<void> {
    return this.stopped ?? this.flushAll()
  }

  shutdown(): Promise<void> {
    this.stopped ??= this.flushAll().then(() => {
      this.metrics?.shutdown?.()
      return this.exporter.shutdown()
    })
    return this.stopped
  }

  /** A full batch leaves now (its spans leave the queue at once); a partial one after the delay. */
  private schedule(): void {
    if (this.exporting) return
    if (this.batches[0]!.count >= this.maxBatch) {
      this.clearTimer()
      this.exporting = true
      const batch = this.take()
      // Sent in a tick of its own, not inside the onEnd() of the span that filled it; a flush in
      // between waits for it (it has left the queue already).
      this.inFlight = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.sendInTurn(batch))
      return
    }
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.exporting || this.queued === 0) return
      this.exporting = true
      this.inFlight = this.sendInTurn(this.take())
    }, this.delayMs)
    this.timer.unref()
  }

  private sendInTurn(batch: SpanBatch): Promise<void> {
    return this.send(batch)
      .catch((error: Error) => globalErrorHandler(error))
      .finally(() => {
        this.exporting = false
        this.inFlight = undefined
        if (this.queued > 0) this.schedule()
      })
  }

  /** What is queued now, and the batch already taken for its own turn. */
  private flushAll(): Promise<void> {
    this.clearTimer()
    const batches: SpanBatch[] = []
    while (this.queued > 0) batches.push(this.take())
    return Promise.all([this.inFlight, ...batches.map((batch) => this.send(batch))]).then(() => undefined)
  }

  /** A batch laid out as its request (taken from the queue first, see take()): its buffer takes the spans of a later batch. */
  private reuse(batch: SpanBatch): void {
    if (this.spareWriters.length < MAX_SPARE_WRITERS && batch.writer.buf.length <= MAX_BATCH_BYTES) this.spareWriters.push(batch.writer)
  }

  private take(): SpanBatch {
    const batch = this.batches.shift()!
    this.queued -= batch.count
    if (batch === this.lastBatch) this.lastSpan = this.lastBatch = undefined
    let size = MIN_BATCH_BYTES
    while (size < batch.writer.pos && size < MAX_BATCH_BYTES) size *= 2
    this.batchBytes = size
    return batch
  }

  /** Exports one batch; fails with the exporter's error, or 'Timeout' after OTEL_BSP_EXPORT_TIMEOUT. */
  private send(batch: SpanBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Timeout')), this.timeoutMs)
      const spanCount = batch.count
      const exportBatch = () => {
        let body: Uint8Array
        try {
          body = batch.request(this.encoder)
          this.reuse(batch)
        } catch (error) {
          clearTimeout(timer)
          return reject(error as Error)
        }
        // The export's own HTTP request must not be traced (it would make spans to export).
        context.with(suppressTracing(ROOT_CONTEXT), () =>
          this.exporter.export({ body, spanCount }, (result) => {
            clearTimeout(timer)
            this.metrics?.finished(spanCount, result.error)
            if (result.code === ExportResultCode.SUCCESS) resolve()
            else reject(result.error ?? new Error('BatchSpanProcessor: span export failed'))
          }),
        )
      }
      // Resource detectors that answer late (cloud metadata) are waited for, as the SDK does.
      const pending = batch.resources().filter((resource) => resource.asyncAttributesPending && resource.waitForAsyncAttributes)
      if (pending.length === 0) return exportBatch()
      Promise.all(pending.map((resource) => resource.waitForAsyncAttributes!())).then(exportBatch, (error: Error) => {
        globalErrorHandler(error)
        reject(error)
      })
    })
  }

  private clearTimer(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}

/** What a span processor tells about the spans it finished with. */
export interface ProcessorEvents {
  dropped(count: number): void
  finished(count: number, error: Error | undefined): void
  shutdown?(): void
}

/**
 * The SDK's batch span processor metrics (sdk-trace's SpanProcessorMetrics), with its names and
 * attributes, so dashboards and alerts on them keep working.
 */
export class ProcessorMetrics implements ProcessorEvents {
  private readonly processed
  private readonly queueSize
  private readonly observeQueue: (result: ObservableResult) => void
  private readonly attributes: Attributes = {
    'otel.component.type': 'batching_span_processor',
    'otel.component.name': 'batching_span_processor/0',
  }
  private readonly droppedAttributes: Attributes = { ...this.attributes, 'error.type': 'queue_full' }

  constructor(meterProvider: MeterProvider, capacity: number, queued: () => number) {
    const meter = meterProvider.getMeter('@opentelemetry/sdk-trace')
    this.processed = meter.createCounter('otel.sdk.processor.span.processed', {
      unit: '{span}',
      description: 'The number of spans for which the processing has finished, either successful or failed.',
    })
    meter
      .createUpDownCounter('otel.sdk.processor.span.queue.capacity', {
        unit: '{span}',
        description: 'The maximum number of spans the queue of a given instance of an SDK span processor can hold.',
      })
      .add(capacity, this.attributes)
    this.queueSize = meter.createObservableUpDownCounter('otel.sdk.processor.span.queue.size', {
      unit: '{span}',
      description: 'The number of spans in the queue of a given instance of an SDK span processor.',
    })
    this.observeQueue = (result) => result.observe(queued(), this.attributes)
    this.queueSize.addCallback(this.observeQueue)
  }

  dropped(count: number): void {
    this.processed.add(count, this.droppedAttributes)
  }

  finished(count: number, error: Error | undefined): void {
    this.processed.add(count, error ? { ...this.attributes, 'error.type': error.name } : this.attributes)
  }

  shutdown(): void {
    this.queueSize.removeCallback(this.observeQueue)
  }
}
