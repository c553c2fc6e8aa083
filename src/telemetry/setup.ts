// Starts OpenTelemetry the way the guide describes: zero-config when the process has no
// providers of its own, hands-off when the operator preloaded theirs (`node --import ./otel.mjs`).
// Must run before Fastify and undici are imported, so that the instrumentations see them required.
import { createNoopMeter, metrics, trace, type Context, type MeterProvider, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api'
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node'
import {
  AggregationType,
  InstrumentType,
  MeterProvider as SdkMeterProvider,
  PeriodicExportingMetricReader,
  type MetricReader,
} from '@opentelemetry/sdk-metrics'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { getNodeAutoInstrumentations, type InstrumentationConfigMap } from '@opentelemetry/auto-instrumentations-node'
import type { IncomingMessage } from 'node:http'
import { CollectorWatch } from './collector.ts'
import { keepSeries } from './series.ts'
import { startMetricPush, type MetricPush } from './metric-push.ts'
import { flushPreloaded, preloadedProviders } from './preload.ts'
import { CallerContextPropagator } from './propagation.ts'
import { holdFetchTracing, upstreamClientSpans } from './client-span.ts'
import { gatewayResource, RESOURCE_DETECTORS } from './resource.ts'
import { batchOptionsFromEnv } from './span-export.ts'
import { SpanHandOff, type TraceLookup } from './span-hand-off.ts'
import type { TraceStoreOptions } from './trace-store.ts'
import { GatewayTracer, gatewayTracing, TRACER_NAME } from './gateway-tracer.ts'
import type { AttributePairs } from './span-values.ts'
import { applyRequestOutcome, isTracedRequest, queryWithoutValues } from './request-span.ts'

/** Whose TracerProvider makes the spans: 'preloaded' also when only traces were preloaded. */
export type TelemetryMode = 'zero-config' | 'preloaded' | 'disabled'

/** What the final flush achieved; `reason` says what was not sent and why. */
export type FlushOutcome = { flushed: true } | { flushed: false; reason: string }

export interface Telemetry {
  mode: TelemetryMode
  /** Where spans and metrics go, said at start (the `listening` line). */
  signals: { traces: string; metrics: string }
  /** Serves GET /metrics; absent when the operator's own MeterProvider is in charge. */
  prometheus: PrometheusExporter | undefined
  /** The recent traces the gateway keeps (in the telemetry worker); undefined when it runs no tracing of its own or the store is off. */
  traces: TraceLookup | undefined
  /**
   * Flushes, within `budgetMs`, and stops what we started; the operator's preloaded providers are
   * flushed, not stopped. Nothing is waited for when the collector is known to be unreachable.
   */
  shutdown(budgetMs: number): Promise<FlushOutcome>
}

export interface TelemetryOptions {
  env?: Record<string, string | undefined>
  /** Where the SDK's own complaints go (exporter failures), each kind once. */
  warn: (message: string) => void
  /** The bounds of the store of recent traces (GET /v1/traces, /traces); none when off. */
  traceStore?: TraceStoreOptions | undefined
  /**
   * Whether a request carries a valid gateway key (src/auth.ts); those that do not are not traced.
   * For the HTTP instrumentation, when an operator enables it (the server span has its own check).
   */
  isAuthorized?: (request: IncomingMessage) => boolean
}

/**
 * The spans of SPEC §2.1 are the gateway's own (server-span.ts, client-span.ts); the undici
 * instrumentation is kept for other outgoing requests (the MCP tool servers), subscribed once the
 * first of those is made (client-span.ts: holdFetchTracing). The rest (http, fs, dns, net, pino, the
 * OpenAI SDK's own spans …) would add spans nobody asked for: the gateway makes no outgoing
 * node:http call but the OTLP exports, which are not traced. An operator who sets
 * OTEL_NODE_ENABLED_INSTRUMENTATIONS gets exactly that list instead.
 */
const UNUSED_INSTRUMENTATIONS = [
  'amqplib', 'aws-lambda', 'aws-sdk', 'bunyan', 'cassandra-driver', 'connect', 'cucumber',
  'dataloader', 'dns', 'express', 'fs', 'generic-pool', 'graphql', 'grpc', 'hapi',
  'host-metrics', 'http', 'ioredis', 'kafkajs', 'knex', 'koa', 'lru-memoizer', 'memcached', 'mongodb',
  'mongoose', 'mysql', 'mysql2', 'nestjs-core', 'net', 'openai', 'oracledb', 'pg', 'pino',
  'redis', 'restify', 'router', 'runtime-node', 'socket.io', 'tedious', 'winston',
]

function instrumentationConfig(env: Record<string, string | undefined>, isAuthorized: (request: IncomingMessage) => boolean): InstrumentationConfigMap {
  const config: InstrumentationConfigMap = {
    // Enabled only through OTEL_NODE_ENABLED_INSTRUMENTATIONS: its SERVER span is then shaped as the
    // gateway's own (request-span.ts), which adopts it instead of making a second one.
    '@opentelemetry/instrumentation-http': {
      ignoreIncomingRequestHook: (request: IncomingMessage) => !isTracedRequest(request, isAuthorized),
      startIncomingSpanHook: queryWithoutValues,
      applyCustomAttributesOnSpan: (span, request) => applyRequestOutcome(span, request as IncomingMessage),
    },
    // The gateway makes the spans of its upstream calls itself (client-span.ts): the instrumentation skips those.
    '@opentelemetry/instrumentation-undici': upstreamClientSpans(env),
  }
  if (env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) return config
  for (const name of UNUSED_INSTRUMENTATIONS) {
    config[`@opentelemetry/instrumentation-${name}` as keyof InstrumentationConfigMap] = { enabled: false }
  }
  return config
}

/**
 * The instrumentations an operator listed that record under the active context (pino's log fields,
 * ioredis', dns' or net's spans …), when the list leaves out `http`: the gateway hands a request's
 * context to its own spans instead of entering it (server-span.ts), so theirs would not join the
 * request's trace. undici's are: the gateway enters the context where it fetches (the agent's MCP
 * tool servers) and makes its upstream requests' spans itself.
 */
function outsideRequestTraces(env: Record<string, string | undefined>): string[] {
  const listed = (env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '')
  return listed.includes('http') ? [] : listed.filter((name) => name !== 'undici')
}

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const env = options.env ?? process.env
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') {
    return { mode: 'disabled', signals: { traces: 'off', metrics: 'off' }, prometheus: undefined, traces: undefined, shutdown: async () => FLUSHED }
  }
  // SPEC §2.3, per signal: what the operator preloaded is used, the rest the gateway sets up.
  const preloaded = preloadedProviders()
  const ownTraces = !preloaded.tracerProvider
  const ownMetrics = !preloaded.meterProvider
  if (!ownTraces && !ownMetrics) {
    return {
      mode: 'preloaded',
      signals: { traces: 'preloaded TracerProvider', metrics: 'preloaded MeterProvider' },
      prometheus: undefined,
      traces: undefined,
      shutdown: (budgetMs) => withinBudget(flushPreloaded(preloaded), budgetMs, 'what the preloaded providers still held was not sent'),
    }
  }

  const watch = new CollectorWatch({
    env,
    warn: options.warn,
    tracesPage: ownTraces && (options.traceStore?.maxTraces ?? 0) > 0,
    signals: { traces: ownTraces, metrics: ownMetrics },
  })
  // The SDK's global diag logger and error handler are the operator's when they preloaded tracing:
  // ours only when the gateway runs the tracing (the wrapped exporters still see every outage).
  if (ownTraces) watch.install()
  // Blank is unset, as the SDK reads it (config.ts checks the rest of the OTEL_* values).
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || 'sik-llms-gateway'
  // The gateway's own series are read from it (series.ts), except when OTLP has a reader of its own:
  // that one needs them recorded on SDK instruments, to give deltas or exponential histograms.
  const metricProducers = ownMetrics && !otlpNeedsOwnReader(env) ? [keepSeries()] : []
  const prometheus = ownMetrics ? new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers }) : undefined
  const exportIntervalMillis = Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? '') || 60_000
  // The SDK's reader refuses a timeout longer than the interval.
  const exportTimeoutMillis = Math.min(Number(env.OTEL_METRIC_EXPORT_TIMEOUT ?? '') || 30_000, exportIntervalMillis)
  // OTLP metrics are read from the Prometheus exporter (one reader, each point recorded once; see
  // metric-push.ts), unless the operator asked OTLP for what that reader cannot give.
  const ownReader = otlpNeedsOwnReader(env)
  const metricReaders: MetricReaders = !prometheus
    ? []
    : ownReader
      ? [new PeriodicExportingMetricReader({ exporter: watch.watch(new OTLPMetricExporter(otlpMetricOptions(env)), 'metrics'), exportIntervalMillis, exportTimeoutMillis }), prometheus]
      : [prometheus]
  const tracing = ownTraces ? startTracing(env, options, serviceName, metricReaders, watch) : undefined
  const stopProviders = tracing?.shutdown ?? startOwnMetrics(serviceName, metricReaders)
  const push: MetricPush | undefined = prometheus && !ownReader
    ? startMetricPush(prometheus, watch.watch(new OTLPMetricExporter(), 'metrics'), exportIntervalMillis, exportTimeoutMillis)
    : undefined
  const flushOwn = async () => {
    // The last metric points are collected before the SDK shuts its reader down; then they are
    // sent while the spans are flushed, so a slow collector for one does not starve the other.
    const lastPush = await push?.stop()
    await Promise.all([lastPush?.sent, stopProviders()])
  }
  return {
    mode: ownTraces ? 'zero-config' : 'preloaded',
    signals: {
      traces: ownTraces ? `OTLP to ${otlpEndpoint(env, 'traces')}` : 'preloaded TracerProvider',
      metrics: ownMetrics
        ? `GET /metrics and OTLP to ${otlpEndpoint(env, 'metrics')}${ownTraces ? '' : ' (no MeterProvider was preloaded)'}`
        : 'preloaded MeterProvider',
    },
    prometheus,
    traces: tracing?.traces,
    shutdown: async (budgetMs) => {
      const ours = flushOwn()
      const theirs = flushPreloaded(preloaded)
      // Waiting for a collector known to be down would only hold up the exit for the export timeout.
      if (watch.isUnreachable(ownTraces ? 'traces' : 'metrics')) {
        await withinBudget(theirs, budgetMs, '')
        return { flushed: false, reason: `${ownTraces ? 'spans' : 'metrics'} not exported: collector unreachable (${watch.endpoint})` }
      }
      return withinBudget(Promise.all([ours, theirs]), budgetMs, `what was left is not exported (collector at ${watch.endpoint} slow or unreachable)`)
    },
  }
}

/** The gateway's own tracing (and metrics, given readers) through NodeSDK: its trace store and its shutdown. */
function startTracing(
  env: Record<string, string | undefined>,
  options: TelemetryOptions,
  serviceName: string,
  metricReaders: MetricReaders,
  watch: CollectorWatch,
): { traces: TraceLookup | undefined; shutdown: () => Promise<void> } {
  const instrumentations = getNodeAutoInstrumentations(instrumentationConfig(env, options.isAuthorized ?? (() => true)))
  const outside = outsideRequestTraces(env)
  if (outside.length > 0) {
    options.warn(
      `OTEL_NODE_ENABLED_INSTRUMENTATIONS names ${outside.join(', ')} without http: the gateway does not make a request's span the active context while it is handled, so what they record during a request does not join its trace. Add http to the list for that: its SERVER span is then the request's, active throughout.`,
    )
  }
  // The export and the trace store run in the telemetry worker (span-hand-off.ts).
  const store = options.traceStore && options.traceStore.maxTraces > 0 ? options.traceStore : undefined
  const handOff = new SpanHandOff({ batch: batchOptionsFromEnv(env), store, watch })
  const processors = [handOff]
  // The gateway's own spans are recorded by its tracer (gateway-tracer.ts says why), the
  // instrumentations' by the SDK's: same sampler, limits, resource and processors.
  const own = gatewayTracing(env, serviceName, processors)
  const sdk = new NodeSDK({
    ...(own ? own.sdkOptions : { serviceName }),
    // The exporters read OTEL_EXPORTER_OTLP_(TRACES_|METRICS_)ENDPOINT/HEADERS themselves.
    spanProcessors: processors,
    // Empty when the operator preloaded a MeterProvider: NodeSDK then makes none.
    metricReaders,
    // Providers get our traceparent only (see propagation.ts), unless OTEL_PROPAGATORS says otherwise.
    ...(env.OTEL_PROPAGATORS ? {} : { textMapPropagator: new CallerContextPropagator() }),
    ...(own || env.OTEL_NODE_RESOURCE_DETECTORS ? {} : { resourceDetectors: RESOURCE_DETECTORS }),
    instrumentations: [instrumentations],
  })
  sdk.start()
  ownTracer = own?.tracer
  handOff.attach(metrics.getMeterProvider())
  // The HTTP instrumentations' own duration histograms repeat what llm_request_duration_seconds
  // says, and each cost a hashed recording per request: their spans stay, their metrics go.
  for (const instrumentation of instrumentations) {
    if (SPANS_ONLY.has(instrumentation.instrumentationName)) instrumentation.setMeterProvider(NOOP_METER_PROVIDER)
  }
  holdFetchTracing(instrumentations.find((instrumentation) => instrumentation.instrumentationName === UNDICI), env)
  return { traces: store && handOff, shutdown: () => sdk.shutdown() }
}

/**
 * Metrics beside a preloaded TracerProvider (a traces-only setup, e.g. OTEL_METRICS_EXPORTER=none
 * in the operator's SDK): without them every llm_* metric would go nowhere.
 */
function startOwnMetrics(serviceName: string, readers: MetricReaders): () => Promise<void> {
  // The exporters and NodeSDK each bring their own copy of sdk-metrics: the readers work with any
  // (MeterProvider only calls their public methods), but TypeScript sees distinct classes.
  const meterProvider = new SdkMeterProvider({ resource: gatewayResource(serviceName), readers: readers as unknown as MetricReader[] })
  metrics.setGlobalMeterProvider(meterProvider)
  return () => meterProvider.shutdown()
}

function otlpEndpoint(env: Record<string, string | undefined>, signal: 'traces' | 'metrics'): string {
  const own = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim()
  return own || `${(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318').replace(/\/+$/, '')}/v1/${signal}`
}

type MetricReaders = NonNullable<NodeSDKConfiguration['metricReaders']>

const FLUSHED: FlushOutcome = { flushed: true }

/** Lets the final flush take at most `budgetMs`: what is still out then is given up. */
async function withinBudget(flush: Promise<unknown>, budgetMs: number, lost: string): Promise<FlushOutcome> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, budgetMs, 'late')))
  const result = await Promise.race([flush.then(() => 'done' as const), late]).finally(() => clearTimeout(timer))
  return result === 'done'
    ? FLUSHED
    : { flushed: false, reason: `telemetry flush did not finish in ${budgetMs} ms: ${lost}` }
}

const NOOP_METER_PROVIDER: MeterProvider = { getMeter: () => createNoopMeter() }
const UNDICI = '@opentelemetry/instrumentation-undici'
const SPANS_ONLY = new Set(['@opentelemetry/instrumentation-http', UNDICI])

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

/**
 * The OTLP metric exporter reads the temporality preference itself, but not the histogram
 * aggregation (only the SDK's file configuration does): without this, base2 exponential
 * histograms asked for would still go out with explicit buckets.
 */
function otlpMetricOptions(env: Record<string, string | undefined>): ConstructorParameters<typeof OTLPMetricExporter>[0] {
  const histograms = (env.OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION ?? '').trim().toLowerCase()
  if (histograms !== 'base2_exponential_bucket_histogram') return {}
  // The exporter brings its own copy of sdk-metrics: the enums' values are the same.
  const selector = (type: InstrumentType) =>
    type === InstrumentType.HISTOGRAM ? { type: AggregationType.EXPONENTIAL_HISTOGRAM } : { type: AggregationType.DEFAULT }
  return { aggregationPreference: selector as NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>['aggregationPreference'] }
}

/** Set when the gateway runs the tracing itself (see gateway-tracer.ts). */
let ownTracer: Tracer | undefined

export function gatewayTracer(): Tracer {
  return ownTracer ?? trace.getTracer(TRACER_NAME)
}

/** gatewayTracer().startSpan() with the span's first attributes as pairs (span-values.ts). */
export function startGatewaySpan(name: string, options: Omit<SpanOptions, 'attributes'>, pairs: AttributePairs, parent: Context): Span {
  const tracer = gatewayTracer()
  return tracer instanceof GatewayTracer ? tracer.startWithPairs(name, options, pairs, parent) : tracer.startSpan(name, { ...options, attributes: pairs.toObject() }, parent)
}
