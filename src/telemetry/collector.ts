// What the OTLP exporters' failures mean to whoever runs the gateway. With no collector running
// (the default endpoint, localhost:4318, on a laptop) every export fails with a connection error:
// that is said once, in one line that says what it costs, instead of the SDK's raw error objects
// (a JSON-encoded stack per failed batch). The state also bounds the final flush: spans for a
// collector known to be unreachable are not waited for at exit.
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api'
import { ExportResultCode, setGlobalErrorHandler, type ExportResult } from '@opentelemetry/core'

/** Errors that mean nothing is listening at the collector's address (or it cannot be reached). */
const UNREACHABLE_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']
const UNREACHABLE_PATTERN = new RegExp(`\\b(${UNREACHABLE_CODES.join('|')})\\b`)

/** The connection error code an export failure carries (in `code`, its message or its causes). */
export function unreachableCode(error: unknown, depth = 0): string | undefined {
  if (depth > 3 || error === null || error === undefined) return undefined
  if (typeof error === 'string') return UNREACHABLE_PATTERN.exec(error)?.[1]
  if (typeof error !== 'object') return undefined
  const { code, message, cause, errors } = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
  if (typeof code === 'string' && UNREACHABLE_CODES.includes(code)) return code
  return (
    unreachableCode(message, depth + 1) ??
    unreachableCode(cause, depth + 1) ??
    (Array.isArray(errors) ? errors.map((e) => unreachableCode(e, depth + 1)).find(Boolean) : undefined)
  )
}

export interface CollectorWatchOptions {
  env: Record<string, string | undefined>
  warn: (message: string) => void
  /** Whether the gateway's own /traces page still shows traces (the trace store is on). */
  tracesPage: boolean
  /** What this gateway exports itself: spans, metrics or both. */
  signals: { traces: boolean; metrics: boolean }
}

type Signal = 'traces' | 'metrics'

/**
 * Follows export results per signal: the first failure to reach the collector is logged once,
 * with the endpoint and what is lost; once every signal got through again, a new outage is
 * logged again.
 */
export class CollectorWatch {
  /** Signals whose last export failed to reach the collector, with the error code. */
  private readonly down = new Map<Signal, string>()
  private said = false
  /** Complaints logged (by kind), each once. */
  private readonly seen = new Set<string>()
  private readonly options: CollectorWatchOptions

  constructor(options: CollectorWatchOptions) {
    this.options = options
  }

  /** Wraps an exporter's `export` so that every result it reports is seen here first. */
  watch<T extends { export(items: never, done: (result: ExportResult) => void): void }>(exporter: T, signal: Signal): T {
    type Export = (items: unknown, done: (result: ExportResult) => void) => void
    const target = exporter as unknown as { export: Export }
    const original = target.export.bind(exporter)
    target.export = (items, done) =>
      original(items, (result) => {
        this.record(signal, result)
        done(result)
      })
    return exporter
  }

  /** The last export of `signal` failed to reach the collector (and none has succeeded since). */
  isUnreachable(signal: Signal): boolean {
    return this.down.has(signal)
  }

  /** Where exports go, as the exporters read it from the environment, for messages. */
  get endpoint(): string {
    const { env, signals } = this.options
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318'
    const endpoints = new Set([
      ...(signals.traces ? [env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || base] : []),
      ...(signals.metrics ? [env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim() || base] : []),
    ])
    return [...endpoints].join(' / ')
  }

  /** An export's result, seen here (watch()) or told by the telemetry worker. */
  record(signal: Signal, result: ExportResult): void {
    if (result.code === ExportResultCode.SUCCESS) {
      this.down.delete(signal)
      if (this.down.size === 0) this.said = false
      return
    }
    const code = unreachableCode(result.error)
    if (!code) return
    this.down.set(signal, code)
    this.announce(code)
  }

  private announce(code: string): void {
    if (this.said) return
    this.said = true
    const { signals, tracesPage } = this.options
    const lost = signals.traces && signals.metrics ? 'spans and metrics are' : signals.traces ? 'spans are' : 'metrics are'
    const still = [tracesPage ? '/traces' : '', signals.metrics ? '/metrics' : ''].filter(Boolean).join(' and ')
    this.options.warn(
      `OTLP collector at ${this.endpoint} is unreachable (${code}): ${lost} not exported` +
        (still ? `; ${still} still work${still.includes(' and ') ? '' : 's'}` : ''),
    )
  }

  /** True when a complaint is about the collector's absence (then it has been said, once). */
  private isOutage(part: unknown): boolean {
    const code = unreachableCode(part)
    if (code) this.announce(code)
    return code !== undefined
  }

  /**
   * Routes the SDK's own complaints through the watch: errors it reports (the global error
   * handler gets each failed span batch) and diag warnings (metric export failures). Each other
   * kind of complaint is logged once, as one line without a stack.
   */
  install(): void {
    const once = (...parts: unknown[]) => this.complaint(parts)
    const quiet = () => {}
    const logger: DiagLogger = { error: once, warn: once, info: quiet, debug: quiet, verbose: quiet }
    diag.setLogger(logger, DiagLogLevel.WARN)
    setGlobalErrorHandler((error) => once(error))
  }

  /** One complaint of the SDK's (its parts as diag or the error handler gave them, or as the telemetry worker told them). */
  complaint(parts: unknown[]): void {
    if (parts.some((part) => this.isOutage(part))) return
    const text = parts.map(describe).filter(Boolean).join(' ')
    // An export timing out while the collector is known down is the same outage, already said.
    if (this.down.size > 0 && /export/i.test(text)) return
    const key = text.replace(/\d+/g, '#').slice(0, 200)
    if (this.seen.has(key)) return
    this.seen.add(key)
    this.options.warn(`opentelemetry: ${text}`)
  }
}

/** A complaint's part as a line to tell another thread: what describe() reads, with the connection error code it carries. */
export function complaintText(part: unknown): string {
  const text = describe(part)
  const code = unreachableCode(part)
  return code && !text.includes(code) ? `${text} (${code})` : text
}

/** An error as one line: its message (and HTTP status code, for an OTLPExporterError), no stack. */
function describe(part: unknown): string {
  if (part instanceof Error) {
    const code = (part as { code?: unknown }).code
    return code !== undefined && !part.message.includes(String(code)) ? `${part.message} (${String(code)})` : part.message
  }
  if (typeof part === 'string') return part
  return ''
}
