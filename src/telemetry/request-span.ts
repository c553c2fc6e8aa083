// The HTTP SERVER span as the gateway shapes it, whoever makes it: the gateway itself
// (server-span.ts, the default) or an HTTP instrumentation (a preloaded SDK's, or one enabled with
// OTEL_NODE_ENABLED_INSTRUMENTATIONS, through its hooks: see setup.ts). Which requests get one, a
// failed request's span saying why it failed, and a query string's values never reaching an
// exported span. The server records the outcome per request; it is applied as the span ends,
// after the default status and `error.type` (the HTTP status code), so the gateway's say wins.
import { context, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api'
import { getRPCMetadata, RPCType } from '@opentelemetry/core'
import type { IncomingMessage } from 'node:http'
import type { Principal } from '../keys/principal.ts'
import { callerAttributes } from './caller.ts'
import { ATTR } from './names.ts'

export interface RequestFailure {
  /** The HTTP status answered. */
  status: number
  /** The gateway error's message, as the caller got it (already free of secrets). */
  message: string
  /** The gateway error kind (`unavailable`, `model_not_found` …), not the HTTP status. */
  errorType: string
  /** The model asked for, when the request got that far. */
  model: string | undefined
}

const failures = new WeakMap<IncomingMessage, RequestFailure>()

/** A model name from the body is the caller's: a span attribute, but not an unbounded one. */
const MAX_MODEL_LENGTH = 256

export function markRequestFailed(request: IncomingMessage, failure: RequestFailure): void {
  failures.set(request, failure)
}

/** Runs as the server span ends (the HTTP instrumentation's `applyCustomAttributesOnSpan`). */
export function applyRequestOutcome(span: Span, request: IncomingMessage): void {
  const failure = failures.get(request)
  if (!failure) return
  // HTTP semconv: a SERVER span's status stays unset for 4xx (the caller's mistake, not the
  // gateway failing), so error-rate views count only what the gateway got wrong; the reason is
  // on the span either way, as error.type and error.message.
  if (failure.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message })
  span.setAttribute(ATTR.errorType, failure.errorType)
  span.setAttribute(ATTR.errorMessage, failure.message)
  if (failure.model) span.setAttribute(ATTR.genAiRequestModel, failure.model.slice(0, MAX_MODEL_LENGTH))
}

/**
 * Names an HTTP instrumentation's SERVER span of the request being handled after its route
 * template (`POST /v1/chat/completions`) and sets http.route: the instrumentation reads the route
 * from the context's RPC metadata when the span ends (the gateway's own span is named as it
 * starts, server-span.ts). An unmatched URL (`route` undefined) is the caller's: its span keeps
 * the method alone as its name, so scanners cannot mint span names.
 */
export function nameServerSpan(route: string | undefined): void {
  const rpc = getRPCMetadata(context.active())
  if (rpc?.type === RPCType.HTTP && route !== undefined) rpc.route = route
}

/**
 * Names the caller on the HTTP SERVER span of `within` (the request's context), once its key was
 * checked: the key's kind, and a named key's id, name and team (caller.ts), never the secret.
 */
export function markServerSpanCaller(within: Context, caller: Principal | undefined): void {
  const attributes = callerAttributes(caller)
  if (Object.keys(attributes).length > 0) trace.getSpan(within)?.setAttributes(attributes)
}

/** Paths whose server spans would only be noise: probes, scrapes and the `/` → `/traces` redirect. */
const UNTRACED_PATHS = new Set(['/', '/metrics', '/health', '/ready', '/favicon.ico'])

/** The trace lookups: GET /v1/traces…, /traces… */
const TRACE_LOOKUP = /^\/(?:v1\/)?traces(?:\/|$)/

/**
 * Whether a request gets a SERVER span. Not the untraced paths, nor the trace lookups
 * (GET /v1/traces…, /traces…): reading a trace must not make traces, or every look at the
 * recent-traces page would push a real trace out of the store and into Jaeger. Nor a caller
 * without a valid key: it must not fill the trace store, nor join a victim's trace by sending its
 * `traceparent` (it is counted in a metric instead).
 */
export function isTracedRequest(request: IncomingMessage, isAuthorized: (request: IncomingMessage) => boolean): boolean {
  const url = request.url ?? ''
  const queryAt = url.indexOf('?')
  const path = queryAt < 0 ? url : url.slice(0, queryAt)
  // The regular expression only where it can match: most paths (/v1/chat/completions) never name traces.
  return !UNTRACED_PATHS.has(path) && !(path.includes('traces') && TRACE_LOOKUP.test(path)) && isAuthorized(request)
}

/** A query parameter name worth keeping: short, plain, and not shaped like a key (`sk-…` has a dash). */
const PLAIN_NAME = /^[A-Za-z0-9_.]{1,32}$/
const MAX_QUERY_NAMES = 16

/**
 * `url.query` of a request target (`/path?query`), undefined without one. The HTTP instrumentation
 * redacts only a few cloud-signing parameters, so `?api_key=…` would be exported as sent. Every
 * value is replaced; plain names are kept (they say what was asked), at most 16, and any other
 * name (a key sent as a name, kilobytes of junk) is one `REDACTED` too.
 */
export function redactedQuery(url: string): string | undefined {
  const start = url.indexOf('?')
  if (start < 0) return undefined
  const names = new Set<string>()
  for (const name of new URLSearchParams(url.slice(start + 1)).keys()) {
    names.add(PLAIN_NAME.test(name) ? name : 'REDACTED')
    if (names.size >= MAX_QUERY_NAMES) break
  }
  const redacted = new URLSearchParams()
  for (const name of names) redacted.append(name, 'REDACTED')
  return redacted.toString()
}

/** `startIncomingSpanHook` of the HTTP instrumentation: its `url.query` replaced by ours. */
export function queryWithoutValues(request: IncomingMessage): Attributes {
  const query = redactedQuery(request.url ?? '')
  return query === undefined ? {} : { [ATTR.urlQuery]: query }
}
