// OTLP metric export that reads from the Prometheus exporter instead of from a reader of its own.
//
// Every MetricReader registered with the SDK keeps its own state for every instrument, and every
// recording is hashed (sorted attribute keys, JSON.stringify) and stored once per reader. With a
// PeriodicExportingMetricReader beside the PrometheusExporter, each metric point a request records
// was paid twice. Both want cumulative sums (Prometheus always; OTLP by default), so one reader
// can serve both: `/metrics` collects from it on each scrape, and this pushes what it collects
// over OTLP every interval, as PeriodicExportingMetricReader would.
import { diag } from '@opentelemetry/api'
import { ExportResultCode, internal, type ExportResult } from '@opentelemetry/core'
import type { MetricReader, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics'

export interface MetricPush {
  /**
   * Stops the interval and collects the last points, which must happen before the reader is shut
   * down; `sent` then settles once they are sent and the exporter is shut down. An export still out
   * is not waited for: the sums are cumulative, the last push holds all it held.
   */
  stop(): Promise<{ sent: Promise<void> }>
}

export function startMetricPush(
  reader: Pick<MetricReader, 'collect'>,
  exporter: PushMetricExporter,
  intervalMillis: number,
  timeoutMillis: number,
): MetricPush {
  let running: Promise<void> | undefined

  const collect = async (): Promise<ResourceMetrics | undefined> => {
    const { resourceMetrics, errors } = await reader.collect({ timeoutMillis })
    if (errors.length) diag.error('metrics collection errors', ...errors)
    return resourceMetrics.scopeMetrics.length ? resourceMetrics : undefined
  }
  const push = async (metrics: ResourceMetrics | undefined): Promise<void> => {
    if (!metrics) return
    const result = await withTimeout(send(exporter, metrics), timeoutMillis)
    if (result === 'timeout') diag.error(`metrics export timed out after ${timeoutMillis}ms`)
    else if (result.code !== ExportResultCode.SUCCESS) diag.error(`metrics export failed (error ${result.error})`)
  }
  const complain = (error: unknown) => diag.error('metrics export threw', error)
  // One export at a time: an interval that comes while the last is still out (a slow collector) is skipped.
  const timer = setInterval(() => {
    running ??= collect()
      .then(push)
      .catch(complain)
      .finally(() => (running = undefined))
  }, intervalMillis).unref()

  return {
    async stop() {
      clearInterval(timer)
      const last = await collect().catch(complain)
      const sent = push(last ?? undefined)
        .then(() => exporter.shutdown())
        .catch(complain)
      return { sent }
    },
  }
}

/** `internal._export` runs the export with tracing suppressed: its HTTP request makes no spans. */
function send(exporter: PushMetricExporter, metrics: ResourceMetrics): Promise<ExportResult> {
  return internal._export(exporter, metrics)
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout').unref()))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
