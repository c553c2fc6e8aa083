// Starts OpenTelemetry the way the guide describes: zero-config when the process has no
// providers of its own, hands-off when the operator preloaded theirs (`node --import ./otel.mjs`).
// Must run before Fastify is imported, so the HTTP instrumentation sees `http` being required.
import { createNoopMeter, diag, DiagLogLevel, metrics, trace, isSpanContextValid, type DiagLogger, type MeterProvider } from '@opentelemetry/api'
import { NodeSDK } from '@opentelemetry/sdk-node'
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { getNodeAutoInstrumentations, type InstrumentationConfigMap } from '@opentelemetry/auto-instrumentations-node'
import { envDetector, osDetector, processDetector, serviceInstanceIdDetector } from '@opentelemetry/resources'
import type { IncomingMessage } from 'node:http'
import { startMetricPush, type MetricPush } from './metric-push.ts'

export type TelemetryMode = 'zero-config' | 'preloaded' | 'disabled'

export interface Telemetry {
  mode: TelemetryMode
  /** Serves GET /metrics; absent when the operator's own MeterProvider is in charge. */
  prometheus: PrometheusExporter | undefined
  /** Flushes and stops what we started; a no-op for providers we did not start. */
  shutdown(): Promise<void>
}

export interface TelemetryOptions {
  env?: Record<string, string | undefined>
  /** Where the SDK's own complaints go (exporter failures), each kind once. */
  warn: (message: string) => void
  /** Extra span processors beside the exporter (the trace store uses this). */
  spanProcessors?: SpanProcessor[]
}

/**
 * Only what the span tree of SPEC §2.1 needs: the HTTP SERVER span and the upstream CLIENT span.
 * The rest (fs, dns, net, pino, the OpenAI SDK's own spans …) would add spans nobody asked for.
 * An operator who sets OTEL_NODE_ENABLED_INSTRUMENTATIONS gets exactly that list instead.
 */
const UNUSED_INSTRUMENTATIONS = [
  'amqplib', 'aws-lambda', 'aws-sdk', 'bunyan', 'cassandra-driver', 'connect', 'cucumber',
  'dataloader', 'dns', 'express', 'fs', 'generic-pool', 'graphql', 'grpc', 'hapi',
  'host-metrics', 'ioredis', 'kafkajs', 'knex', 'koa', 'lru-memoizer', 'memcached', 'mongodb',
  'mongoose', 'mysql', 'mysql2', 'nestjs-core', 'net', 'openai', 'oracledb', 'pg', 'pino',
  'redis', 'restify', 'router', 'runtime-node', 'socket.io', 'tedious', 'winston',
]

function instrumentationConfig(env: Record<string, string | undefined>): InstrumentationConfigMap {
  const config: InstrumentationConfigMap = {
    '@opentelemetry/instrumentation-http': {
      ignoreIncomingRequestHook: (request: IncomingMessage) => isUntracedPath((request.url ?? '').split('?')[0] ?? ''),
    },
  }
  if (env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) return config
  for (const name of UNUSED_INSTRUMENTATIONS) {
    config[`@opentelemetry/instrumentation-${name}` as keyof InstrumentationConfigMap] = { enabled: false }
  }
  return config
}

/** Paths whose server spans would only be noise: probes and scrapes. */
const UNTRACED_PATHS = new Set(['/metrics', '/health', '/ready', '/favicon.ico'])

/**
 * Also the trace lookups (GET /v1/traces…, /traces…): reading a trace must not make traces, or
 * every look at the recent-traces page would push a real trace out of the store and into Jaeger.
 */
function isUntracedPath(path: string): boolean {
  return UNTRACED_PATHS.has(path) || /^\/(v1\/)?traces(\/|$)/.test(path)
}

/**
 * A global TracerProvider is "already there" when a span it starts has a valid context: the
 * API's no-op provider hands out the all-zero invalid context.
 */
function hasGlobalTracerProvider(): boolean {
  const probe = trace.getTracer('sik-llms-gateway.probe').startSpan('probe')
  const found = isSpanContextValid(probe.spanContext())
  probe.end()
  return found
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

/** The SDK reports each failed export; an unreachable collector must be said once, not per batch. */
function onceDiagLogger(warn: (message: string) => void): DiagLogger {
  const seen = new Set<string>()
  const once = (message: string, ...args: unknown[]) => {
    const detail = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : '')).join(' ')
    const key = `${message} ${detail}`.replace(/\d+/g, '#').slice(0, 200)
    if (seen.has(key)) return
    seen.add(key)
    warn(`opentelemetry: ${message} ${detail}`.trim())
  }
  const quiet = () => {}
  return { error: once, warn: once, info: quiet, debug: quiet, verbose: quiet }
}

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const env = options.env ?? process.env
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') {
    return { mode: 'disabled', prometheus: undefined, shutdown: async () => {} }
  }
  if (hasGlobalTracerProvider()) {
    return { mode: 'preloaded', prometheus: undefined, shutdown: async () => {} }
  }

  diag.setLogger(onceDiagLogger(options.warn), DiagLogLevel.WARN)
  const prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true })
  const exportIntervalMillis = Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? '') || 60_000
  const exportTimeoutMillis = Math.min(30_000, exportIntervalMillis)
  // OTLP metrics are read from the Prometheus exporter (one reader, each point recorded once; see
  // metric-push.ts), unless the operator asked OTLP for what that reader cannot give.
  const ownReader = otlpNeedsOwnReader(env)
  const instrumentations = getNodeAutoInstrumentations(instrumentationConfig(env))
  const exportProcessor = new CountingBatchProcessor(
    (selfObsMeterProvider) => new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), ...batchOptionsFromEnv(env), selfObsMeterProvider }),
  )
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || 'sik-llms-gateway',
    // The exporters read OTEL_EXPORTER_OTLP_(TRACES_|METRICS_)ENDPOINT/HEADERS themselves.
    spanProcessors: [
      exportProcessor,
      ...(options.spanProcessors ?? []),
    ],
    metricReaders: ownReader
      ? [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis, exportTimeoutMillis }), prometheus]
      : [prometheus],
    // host.id is read asynchronously; the first scrape would otherwise warn that it is not there yet.
    ...(env.OTEL_NODE_RESOURCE_DETECTORS
      ? {}
      : { resourceDetectors: [envDetector, processDetector, osDetector, serviceInstanceIdDetector] }),
    instrumentations: [instrumentations],
  })
  sdk.start()
  exportProcessor.attach(metrics.getMeterProvider())
  // The HTTP instrumentations' own duration histograms repeat what llm_request_duration_seconds
  // says, and each cost a hashed recording per request: their spans stay, their metrics go.
  for (const instrumentation of instrumentations) {
    if (SPANS_ONLY.has(instrumentation.instrumentationName)) instrumentation.setMeterProvider(NOOP_METER_PROVIDER)
  }
  const push: MetricPush | undefined = ownReader
    ? undefined
    : startMetricPush(prometheus, new OTLPMetricExporter(), exportIntervalMillis, exportTimeoutMillis)
  return {
    mode: 'zero-config',
    prometheus,
    shutdown: async () => {
      // The last metric points are collected before the SDK shuts its reader down; then they are
      // sent while the spans are flushed, so a slow collector for one does not starve the other.
      const lastPush = await push?.stop()
      await Promise.all([lastPush?.sent, sdk.shutdown()])
    },
  }
}

/**
 * The batch span processor, made once the SDK's MeterProvider exists, so that it counts what it
 * drops when the collector cannot keep up (`otel_sdk_processor_span_processed_total` with
 * `error_type="queue_full"`) and shows its queue (`otel_sdk_processor_span_queue_size`,
 * `…_capacity`). NodeSDK takes its span processors before it makes the MeterProvider.
 */
class CountingBatchProcessor implements SpanProcessor {
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

const NOOP_METER_PROVIDER: MeterProvider = { getMeter: () => createNoopMeter() }
const SPANS_ONLY = new Set(['@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-undici'])

/**
 * OTLP metrics with other than cumulative sums (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
 * `delta`/`lowmemory`) or exponential histograms (…_DEFAULT_HISTOGRAM_AGGREGATION) cannot be read
 * from the Prometheus exporter: they get a reader of their own.
 */
function otlpNeedsOwnReader(env: Record<string, string | undefined>): boolean {
  const preference = (env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE ?? '').trim().toLowerCase()
  const histograms = (env.OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION ?? '').trim().toLowerCase()
  return (preference !== '' && preference !== 'cumulative') || (histograms !== '' && histograms !== 'explicit_bucket_histogram')
}

/** Instruments must come from the provider actually in use, so they are made after start. */
export function gatewayMeter() {
  return metrics.getMeter('sik-llms-gateway')
}

export function gatewayTracer() {
  return trace.getTracer('sik-llms-gateway')
}
