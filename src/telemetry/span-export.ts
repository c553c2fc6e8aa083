// How the gateway's spans leave the process: the OTLP/protobuf exporter behind a bounded batch
// processor that counts what it drops (SPEC §2.3: export never blocks or fails a request).
import type { MeterProvider } from '@opentelemetry/api'
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import type { CollectorWatch } from './collector.ts'

/** The processor that exports the gateway's spans; `attach` it to the SDK's MeterProvider once it exists. */
export function spanExportProcessor(env: Record<string, string | undefined>, watch: CollectorWatch): CountingBatchProcessor {
  return new CountingBatchProcessor(
    (selfObsMeterProvider) =>
      new BatchSpanProcessor({ exporter: watch.watch(new OTLPTraceExporter(), 'traces'), ...batchOptionsFromEnv(env), selfObsMeterProvider }),
  )
}

/**
 * SDK 3's BatchSpanProcessor no longer reads OTEL_BSP_* itself (only NodeSDK's own default
 * processor does), so a processor we construct must be given them, or they are silently ignored.
 */
function batchOptionsFromEnv(env: Record<string, string | undefined>) {
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

/**
 * The batch span processor, made once the SDK's MeterProvider exists, so that it counts what it
 * drops when the collector cannot keep up (`otel_sdk_processor_span_processed_total` with
 * `error_type="queue_full"`) and shows its queue (`otel_sdk_processor_span_queue_size`,
 * `…_capacity`). NodeSDK takes its span processors before it makes the MeterProvider.
 */
export class CountingBatchProcessor implements SpanProcessor {
  private processor: BatchSpanProcessor | undefined
  private readonly make: (meterProvider?: MeterProvider) => BatchSpanProcessor

  constructor(make: (meterProvider?: MeterProvider) => BatchSpanProcessor) {
    this.make = make
  }

  attach(meterProvider: MeterProvider): void {
    this.processor ??= this.make(meterProvider)
  }

  onStart(...args: Parameters<SpanProcessor['onStart']>): void {
    // A span started before attach() (none: start() is followed by attach()) goes uncounted.
    ;(this.processor ??= this.make()).onStart(...args)
  }

  onEnd(span: ReadableSpan): void {
    ;(this.processor ??= this.make()).onEnd(span)
  }

  forceFlush(): Promise<void> {
    return this.processor?.forceFlush() ?? Promise.resolve()
  }

  shutdown(): Promise<void> {
    return this.processor?.shutdown() ?? Promise.resolve()
  }
}
