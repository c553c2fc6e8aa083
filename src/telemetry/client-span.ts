// The `POST` CLIENT span of an upstream exchange (SPEC §2.1: `llm.<provider>.chat|stream` → `POST`),
// made where the gateway sends the request (src/providers/http-upstream.ts). The undici
// instrumentation made it from diagnostics channels, parsing again the URL and the headers the
// gateway had just built, in three rounds of attributes, with a duration metric nobody reads.
//
// Kept as that instrumentation had it: named after the method; a child of the provider attempt
// span (given by the attempt: LlmCall.attempt), or of the request's SERVER span for the requests
// made outside a call (count_tokens, the Responses lookups forwarded to OpenAI); http.request.method, url.full,
// server.address and server.port from the start; http.response.status_code when the answer's
// headers come, with status ERROR and error.type (the status) from 400 on; on a transport failure
// error.type (undici's code), the exception and status ERROR; an abort ends it without an error.
// It ends when the body has been read, so a stream's span covers the whole stream. The upstream
// gets this span's traceparent from the global propagator (propagation.ts: traceparent only).
import { diag, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api'
import { activeContext } from './lean-context.ts'
import type { InstrumentationConfigMap } from '@opentelemetry/auto-instrumentations-node'
import { ATTR, HTTP_ATTR } from './names.ts'
import { startGatewaySpan } from './setup.ts'
import { AttributePairs } from './span-values.ts'

const URL_FULL = 'url.full'
const TRACEPARENT = 'traceparent'

type UndiciConfig = NonNullable<InstrumentationConfigMap['@opentelemetry/instrumentation-undici']>

/** Whether the gateway makes these spans: only under its own SDK (a preloaded one brings its own instrumentation). */
let enabled = false

/**
 * The undici instrumentation's config (setup.ts), and the switch for the gateway's own spans. The
 * instrumentation still traces the other undici users (the MCP SDK's fetch to tool servers) and
 * skips a request that already carries a traceparent: its sender traced it, and a second header
 * would contradict the first. So the gateway makes its spans only when the instrumentation would
 * otherwise run (OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS) and its propagators write that mark.
 */
export function upstreamClientSpans(env: Record<string, string | undefined>): UndiciConfig {
  enabled = undiciInstrumented(env) && writesTraceparent(env)
  attemptsEntered = !enabled || Boolean(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS?.trim())
  return enabled ? { ignoreRequestHook: carriesTraceparent } : {}
}

function undiciInstrumented(env: Record<string, string | undefined>): boolean {
  const listed = (value: string | undefined) => (value ?? '').split(',').map((name) => name.trim())
  if (env.OTEL_NODE_ENABLED_INSTRUMENTATIONS && !listed(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS).includes('undici')) return false
  return !listed(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS).includes('undici')
}

/** The gateway's propagator (unset OTEL_PROPAGATORS) writes it; the operator's list must name tracecontext. */
function writesTraceparent(env: Record<string, string | undefined>): boolean {
  const names = (env.OTEL_PROPAGATORS ?? '').trim()
  return names === '' || names.split(',').some((name) => name.trim() === 'tracecontext')
}

/** undici (6 and later) keeps a request's headers as [name, value, name, value, …]. */
function carriesTraceparent(request: { headers: string | (string | string[])[] }): boolean {
  const { headers } = request
  if (!Array.isArray(headers)) return false
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === TRACEPARENT) return true
  return false
}

/** The undici instrumentation, unsubscribed until something besides the gateway's own upstream calls uses undici. */
let heldFetchTracing: { enable(): void } | undefined

/**
 * When the gateway makes its upstream calls' spans, the undici instrumentation is there for the
 * fetches of the agent's MCP tool servers. Subscribed to undici's diagnostics channels it runs on
 * every upstream call too, only to skip it, for ~3–7 µs a call (bench/RESULTS.md, issue 15,
 * eighteenth round): so it waits for the first tool server over HTTP (traceFetches), unless the
 * operator listed it (OTEL_NODE_ENABLED_INSTRUMENTATIONS). When the gateway makes none (propagators
 * without tracecontext), the instrumentation traces the upstream calls themselves and stays.
 */
export function holdFetchTracing(instrumentation: { enable(): void; disable(): void } | undefined, env: Record<string, string | undefined>): void {
  if (!instrumentation || !enabled || env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) return
  instrumentation.disable()
  heldFetchTracing = instrumentation
}

/** Something is about to fetch (an MCP tool server over HTTP): the undici instrumentation traces it from now on. */
export function traceFetches(): void {
  heldFetchTracing?.enable()
  heldFetchTracing = undefined
}

export interface UpstreamOrigin {
  /** `https://host:port`, to which the request path is joined for url.full. */
  origin: string
  address: string
  port: number
}

/** See entersAttemptContext. */
let attemptsEntered = true

/**
 * Whether an attempt's context must be the active one while its request is sent: when others trace
 * from it. The undici instrumentation makes the upstream requests' spans when the gateway does not
 * (a preloaded SDK, propagators without tracecontext), and any instrumentation an operator lists
 * (dns, net …) makes its spans under the active context. Otherwise the gateway hands the attempt's
 * context to its own span (startUpstreamSpan) and spares a context frame.
 */
export function entersAttemptContext(): boolean {
  return attemptsEntered
}

/**
 * Starts the span of a request about to be sent, under `parent` (the active context when none is
 * given), or gives undefined when the gateway makes none (telemetry off, or a preloaded SDK in
 * charge). Send its `headers`.
 */
export function startUpstreamSpan(method: string, target: UpstreamOrigin, path: string, headers: Record<string, string>, parent: Context = activeContext()): UpstreamSpan | undefined {
  if (!enabled) return undefined
  try {
    return new UpstreamSpan(method, target, path, headers, parent)
  } catch (error) {
    // A fault of telemetry (a sampler, a propagator, a span processor) must not keep the request
    // from being sent: it goes out untraced with its own headers.
    diag.error('the upstream request span could not be started', error)
    return undefined
  }
}

export class UpstreamSpan {
  /** The request's headers with this span's traceparent. */
  readonly headers: Record<string, string>
  private readonly span: Span
  /** False when not sampled: nothing is recorded, only the traceparent goes out. */
  private readonly recording: boolean
  private ended = false

  constructor(method: string, target: UpstreamOrigin, path: string, headers: Record<string, string>, parent: Context) {
    const pairs = new AttributePairs()
      .add(HTTP_ATTR.method, method)
      .add(URL_FULL, target.origin + path)
      .add(ATTR.serverAddress, target.address)
      .add(ATTR.serverPort, target.port)
    this.span = startGatewaySpan(method, { kind: SpanKind.CLIENT }, pairs, parent)
    this.recording = this.span.isRecording()
    this.headers = { ...headers }
    propagation.inject(trace.setSpan(parent, this.span), this.headers)
  }

  /** The answer's headers came. */
  answered(status: number): void {
    if (!this.recording) return
    this.span.setAttribute(HTTP_ATTR.statusCode, status)
    if (status < 400) return
    this.span.setAttribute(ATTR.errorType, String(status))
    this.span.setStatus({ code: SpanStatusCode.ERROR })
  }

  /**
   * The exchange is over: its body read or given up, or `error` broke it (an abort is no error).
   * Never throws: an answer already received must not turn into a failed attempt because a span
   * processor failed.
   */
  end(error?: unknown): void {
    if (this.ended) return
    this.ended = true
    try {
      this.finish(error)
    } catch (fault) {
      diag.error('the upstream request span could not be ended', fault)
    }
  }

  private finish(error: unknown): void {
    if (error !== undefined && this.recording && (error as Error | null)?.name !== 'AbortError') {
      const { code, name, message } = (error ?? {}) as { code?: unknown; name?: unknown; message?: unknown }
      // No exception event (SPEC §2.1: no span events): error.type and the status say it.
      this.span.setAttribute(ATTR.errorType, String(code || name || 'Error'))
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: typeof message === 'string' ? message : undefined })
    }
    this.span.end()
  }
}
