// The standard OTEL_* variables the gateway or the OpenTelemetry SDK it starts reads. The SDK
// meets a bad value with a diag warning and its default (an unknown sampler samples everything, a
// malformed OTEL_RESOURCE_ATTRIBUTES is dropped whole at debug level, OTEL_EXPORTER_OTLP_PROTOCOL
// is not read at all by the exporters the gateway makes): the operator finds out from a backend
// that looks wrong. Here each stops start-up, named, with what it accepts.
import { flag, httpUrl, oneOf, Problem, text, variable, wholeNumber } from './fields.ts'

/** Which signals the gateway exports itself (none when OTEL_SDK_DISABLED, or what the operator preloaded). */
export interface ExportedSignals {
  traces: boolean
  metrics: boolean
}

/** Longest timer Node keeps: a longer one fires after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1

/** The samplers the SDK builds from OTEL_TRACES_SAMPLER (sdk-node `createSamplerFromEnv`). */
const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const
const RATIO_SAMPLERS = new Set(['traceidratio', 'parentbased_traceidratio'])

/** The propagators sdk-node builds from OTEL_PROPAGATORS; others it warns about and leaves out. */
const PROPAGATORS = ['tracecontext', 'baggage', 'b3', 'b3multi', 'none']

/** What the OTLP specification allows: a preloaded SDK may speak any of them. */
const OTLP_PROTOCOLS = ['http/protobuf', 'grpc', 'http/json'] as const

/** Resource attribute keys and values longer than this make the SDK drop the whole variable. */
const MAX_ATTRIBUTE_LENGTH = 255

export function otelVariables(env: Record<string, string | undefined>, exported: ExportedSignals) {
  const any = exported.traces || exported.metrics
  return {
    OTEL_SDK_DISABLED: flag(false),
    /** Blank is unset (the specification's rule): the gateway's name is used then. */
    OTEL_SERVICE_NAME: text,
    OTEL_RESOURCE_ATTRIBUTES: variable(resourceAttributes),
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl(),
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: httpUrl(),
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol(any, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or …_METRICS_PROTOCOL'),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol(exported.traces),
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol(exported.metrics),
    OTEL_EXPORTER_OTLP_HEADERS: variable(headers),
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: variable(headers),
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: variable(headers),
    OTEL_EXPORTER_OTLP_TIMEOUT: wholeNumber(undefined, 1, MAX_TIMER_MS),
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: wholeNumber(undefined, 1, MAX_TIMER_MS),
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: wholeNumber(undefined, 1, MAX_TIMER_MS),
    OTEL_EXPORTER_OTLP_COMPRESSION: oneOf(['gzip', 'none']),
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: oneOf(['gzip', 'none']),
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: oneOf(['gzip', 'none']),
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: oneOf(['cumulative', 'delta', 'lowmemory'], { anyCase: true }),
    OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: oneOf(['explicit_bucket_histogram', 'base2_exponential_bucket_histogram'], { anyCase: true }),
    OTEL_TRACES_SAMPLER: oneOf(SAMPLERS),
    OTEL_TRACES_SAMPLER_ARG: variable((raw) => samplerArg(raw, text.parse(env.OTEL_TRACES_SAMPLER))),
    OTEL_PROPAGATORS: variable(propagators),
    OTEL_METRIC_EXPORT_INTERVAL: wholeNumber(undefined, 1, MAX_TIMER_MS),
    OTEL_METRIC_EXPORT_TIMEOUT: wholeNumber(undefined, 1, MAX_TIMER_MS),
    OTEL_BSP_SCHEDULE_DELAY: wholeNumber(undefined, 0, MAX_TIMER_MS),
    OTEL_BSP_EXPORT_TIMEOUT: wholeNumber(undefined, 1, MAX_TIMER_MS),
    OTEL_BSP_MAX_QUEUE_SIZE: wholeNumber(undefined, 1, 10_000_000),
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: wholeNumber(undefined, 1, 10_000_000),
  }
}

/**
 * The exporters the gateway makes speak OTLP over HTTP with protobuf and read no protocol
 * variable: any other value would be ignored. With the operator's own SDK preloaded for a signal,
 * that SDK reads it, and any protocol OTLP defines is theirs to choose.
 */
function protocol(gatewayExports: boolean, perSignal?: string) {
  if (!gatewayExports) return oneOf(OTLP_PROTOCOLS)
  const instead = perSignal ? `; to give a preloaded SDK another, set ${perSignal}` : ''
  return oneOf(['http/protobuf'], { why: ` (the gateway exports OTLP over HTTP with protobuf${instead})` })
}

/**
 * The ratio of the traceidratio samplers. The SDK reads it for no other sampler: a ratio beside
 * the default sampler would look like sampling while every trace is kept.
 */
function samplerArg(raw: string, sampler: string | undefined): number | Problem {
  const known = sampler === undefined || (SAMPLERS as readonly string[]).includes(sampler)
  if (known && !RATIO_SAMPLERS.has(sampler ?? '')) {
    return new Problem(`is read only by the traceidratio and parentbased_traceidratio samplers; OTEL_TRACES_SAMPLER is ${sampler ?? 'unset (parentbased_always_on)'}, got "${raw}"`)
  }
  const ratio = Number(raw)
  return ratio >= 0 && ratio <= 1 ? ratio : new Problem(`must be a number from 0 to 1 (the share of traces sampled), got "${raw}"`)
}

function propagators(raw: string): string | Problem {
  const unknown = raw.split(',').map((name) => name.trim()).filter((name) => name !== '' && !PROPAGATORS.includes(name))
  return unknown.length === 0 ? raw : new Problem(`must list propagators among ${PROPAGATORS.join(', ')}, got "${unknown.join(',')}"`)
}

/**
 * W3C-baggage-like `key=value,key=value`, with `,` and `=` percent-encoded inside keys and
 * values: the rules of the SDK's ResourceAttributesEnvDetector, which drops every attribute when
 * one entry breaks them.
 */
function resourceAttributes(raw: string): string | Problem {
  for (const entry of raw.split(',')) {
    if (entry.trim() === '') continue
    const pair = entry.split('=')
    const expected = "must be comma-separated key=value pairs, with ',' and '=' in keys and values percent-encoded"
    if (pair.length !== 2 || pair[0]!.trim() === '') return new Problem(`${expected}, got "${entry}"`)
    let decoded: string[]
    try {
      decoded = pair.map((part) => decodeURIComponent(part.trim()))
    } catch {
      return new Problem(`${expected}: "${entry}" is not valid percent-encoding`)
    }
    if (decoded.some((part) => part.length > MAX_ATTRIBUTE_LENGTH)) {
      return new Problem(`keys and values must be at most ${MAX_ATTRIBUTE_LENGTH} characters, got "${entry.slice(0, 40)}…"`)
    }
  }
  return raw
}

/**
 * `key=value` pairs the exporters send as HTTP headers. An entry without both is dropped by the
 * SDK without a word (an authorization header the collector then misses). The entry's text is
 * not repeated: it may hold a token.
 */
function headers(raw: string): string | Problem {
  const entries = raw.split(',')
  for (const [index, entry] of entries.entries()) {
    if (entry.trim() === '') continue
    const equals = entry.indexOf('=')
    const key = entry.slice(0, Math.max(equals, 0)).trim()
    const value = entry.slice(equals + 1).trim()
    if (equals <= 0 || key === '' || value === '') {
      return new Problem(`must be comma-separated key=value pairs; entry ${index + 1} of ${entries.length} is not (its text is not repeated here: it may hold a token)`)
    }
  }
  return raw
}
