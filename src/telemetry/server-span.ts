// The HTTP SERVER span of each traced request (SPEC §2.1's root span), made by the gateway itself.
// @opentelemetry/instrumentation-http made it before, at a cost of tens of µs per request: it
// wraps every emit of every server, binds each listener of the request and the response to the
// context one by one, parses the URL and the headers for attributes in two versions of the
// conventions, and records a duration histogram. This span keeps what it gave — the name, the
// stable HTTP semconv attributes, the caller's W3C trace context joined, the span the parent of the
// request's own — and costs one span, its attribute pairs and one context per request.
import { context, diag, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api'
import { getRPCMetadata } from '@opentelemetry/core'
import { IncomingMessage, ServerResponse, type IncomingHttpHeaders } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { activeContext, LEAN_ROOT } from './lean-context.ts'
import { ATTR, HTTP_ATTR, onceMade } from './names.ts'
import { applyRequestOutcome, isTracedRequest, redactedQuery } from './request-span.ts'
import { startGatewaySpan } from './setup.ts'
import { AttributePairs } from './span-values.ts'

/** Stable HTTP semconv attributes of a SERVER span besides those of names.ts, as instrumentation-http set them. */
const SEMCONV = {
  methodOriginal: 'http.request.method_original',
  urlScheme: 'url.scheme',
  urlPath: 'url.path',
  protocolVersion: 'network.protocol.version',
  peerAddress: 'network.peer.address',
  peerPort: 'network.peer.port',
  clientAddress: 'client.address',
  userAgent: 'user_agent.original',
} as const

/** The methods semconv names; any other is `_OTHER`, with the one sent in http.request.method_original. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY'])

/**
 * Makes the request's SERVER span, which starts at `startedAt` (performance.now() as the request's
 * first hook ran), then runs `next`, the rest of the request's handling.
 */
export type InServerSpan = (request: IncomingMessage, response: ServerResponse, route: string | undefined, startedAt: number, next: () => void) => void

/** The key was settled before the span starts: only a request let in gets here. */
const SETTLED = () => true

/**
 * The span is made once the caller's key is settled (a key revoked, or created, on another
 * replica is known only then: src/auth.ts), dated from the request's first hook, named after the
 * route template (`route`, undefined for an unmatched URL), and ends when the response closes:
 * sent, or the connection lost. A request that is not traced (isTracedRequest), or that already
 * has a SERVER span from an HTTP instrumentation (an operator's preloaded SDK,
 * OTEL_NODE_ENABLED_INSTRUMENTATIONS with `http`: the RPC metadata it puts in the context), runs as it is.
 *
 * The span's context is not made the active one for the rest of the request: the gateway passes
 * it on itself (requestContext: the calls' `llm.request` spans, the trace ids answered), which
 * spares every request a context frame and the events of its request and response a switch into
 * it: ~4 µs a request of the main thread (bench/RESULTS.md, twenty-second round). The agent's run
 * enters it (inRequestContext): its MCP tool servers' fetches are traced by the undici
 * instrumentation, from the active context. Other instrumentations an operator enables (pino,
 * ioredis …) find the request's span only when the HTTP instrumentation is enabled too, whose
 * SERVER span is then active throughout (setup.ts warns).
 */
export function serverSpans(): InServerSpan {
  return (request, response, route, startedAt, next) => {
    if (isTracedRequest(request, SETTLED) && getRPCMetadata(context.active()) === undefined) {
      try {
        startServerSpan(request, response, route, startedAt)
      } catch {
        // A fault of telemetry must not fail the request: it goes untraced.
      }
    }
    next()
  }
}

/** The contexts of the SERVER spans of requests not made by the server's own classes (Fastify's inject()). */
const contexts = new WeakMap<IncomingMessage, Context>()

/**
 * The context of the request's SERVER span when the gateway made one; otherwise the active context
 * (an HTTP instrumentation's span, or none): what the request's own spans are made under.
 */
export function requestContext(request: IncomingMessage): Context {
  return (request instanceof TracedRequest ? request.within : contexts.get(request)) ?? activeContext()
}

/** Runs `work` with the request's context active, for what is traced through it (requestContext). */
export function inRequestContext<T>(request: IncomingMessage, work: () => T): T {
  return context.with(requestContext(request), work)
}

/**
 * The request and response classes of the gateway's HTTP server when it makes SERVER spans
 * (Node's `IncomingMessage` and `ServerResponse` options, through Fastify's `http` options): the
 * request holds its span's context, the response ends the span once its `close` listeners ran. On
 * the prototype, not a function put on each request: with Node 24's V8 a fresh closure stored on
 * every request made the scavenger keep each request's objects alive until a full GC
 * (bench/RESULTS.md, issue 15). For requests made otherwise (Fastify's inject()) the context is
 * kept in a WeakMap, and each response's `emit` is wrapped.
 */
export class TracedRequest extends IncomingMessage {
  within: Context | undefined = undefined
}

export class TracedResponse extends ServerResponse {
  span: Span | undefined = undefined
  failure: Error | undefined = undefined

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const span = this.span
    if (span === undefined) return emitOfResponse.call(this, event, ...args)
    if (event === 'error') this.failure = args[0] as Error
    const listened = emitOfResponse.call(this, event, ...args)
    // After the `close` listeners: a caller gone aborts its upstream call first (routes/answer.ts).
    if (event === 'close') {
      this.span = undefined
      endServerSpanSafely(span, this.req, this, this.failure)
    }
    return listened
  }
}

const emitOfResponse = ServerResponse.prototype.emit as (this: unknown, event: string | symbol, ...args: unknown[]) => boolean

/** Node's http.createServer options that make the requests and responses above. */
export const tracedHttpClasses: { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } = {
  IncomingMessage: TracedRequest,
  // Node's typing of ServerResponse is generic in its request class; this one answers any.
  ServerResponse: TracedResponse as unknown as typeof ServerResponse,
}

function startServerSpan(request: IncomingMessage, response: ServerResponse, route: string | undefined, startedAt: number): void {
  // The caller's traceparent, tracestate and baggage, through the global propagator (OTEL_PROPAGATORS applies).
  // From the gateway's own empty context: every context the request makes is a LeanContext.
  const parent = propagation.extract(LEAN_ROOT, request.headers)
  const method = request.method ?? 'GET'
  const name = route === undefined ? method : onceMade(route, method, () => `${method} ${route}`)
  // A performance.now() reading as the start: the tracer keeps timing the span on that clock.
  const span = startGatewaySpan(name, { kind: SpanKind.SERVER, startTime: startedAt }, requestAttributes(request, method, route), parent)
  const within = trace.setSpan(parent, span)
  if (request instanceof TracedRequest) request.within = within
  else contexts.set(request, within)
  // The caller left while its key was being settled: the response closed before the span began.
  if (response.closed) {
    endServerSpanSafely(span, request, response, undefined)
    return
  }
  if (response instanceof TracedResponse) {
    response.span = span
    return
  }
  const emitResponse = response.emit as (...args: unknown[]) => boolean
  let failure: Error | undefined
  response.emit = function (this: ServerResponse, event: unknown, ...args: unknown[]) {
    if (event === 'error') failure = args[0] as Error
    const listened = emitResponse.call(this, event, ...args)
    // After the `close` listeners: a caller gone aborts its upstream call first (routes/answer.ts).
    if (event === 'close' && span.isRecording()) endServerSpanSafely(span, request, response, failure)
    return listened
  } as ServerResponse['emit']
}

/** A fault of telemetry here would be thrown out of a socket event: it is reported, never thrown. */
function endServerSpanSafely(span: Span, request: IncomingMessage, response: ServerResponse, failure: Error | undefined): void {
  try {
    endServerSpan(span, request, response, failure)
  } catch (error) {
    diag.error('the HTTP server span could not be ended', error)
  }
}

function endServerSpan(span: Span, request: IncomingMessage, response: ServerResponse, failure: Error | undefined): void {
  const status = response.statusCode
  span.setAttribute(HTTP_ATTR.statusCode, status)
  if (failure !== undefined) {
    span.setAttribute(ATTR.errorType, failure.name)
    // No exception event (SPEC §2.1: no span events): error.type and the status say it.
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message })
  } else if (status >= 500) {
    // HTTP semconv: a 5xx is the server failing (ERROR, error.type the status); a 4xx is the caller's.
    span.setAttribute(ATTR.errorType, String(status))
    span.setStatus({ code: SpanStatusCode.ERROR })
  }
  applyRequestOutcome(span, request)
  span.end()
}

function requestAttributes(request: IncomingMessage, method: string, route: string | undefined): AttributePairs {
  const { headers, socket } = request
  const url = request.url ?? '/'
  const queryAt = url.indexOf('?')
  const scheme = (socket as Partial<TLSSocket>).encrypted ? 'https' : 'http'
  const knownMethod = KNOWN_METHODS.has(method) ? method : '_OTHER'
  const pairs = new AttributePairs()
    .add(HTTP_ATTR.method, knownMethod)
    .add(SEMCONV.urlScheme, scheme)
    .add(SEMCONV.urlPath, queryAt < 0 ? url : url.slice(0, queryAt))
    .add(SEMCONV.protocolVersion, request.httpVersion)
    .add(ATTR.urlQuery, redactedQuery(url))
    .add(HTTP_ATTR.route, route)
    .add(SEMCONV.peerAddress, socket.remoteAddress)
    .add(SEMCONV.peerPort, socket.remotePort)
    .add(SEMCONV.userAgent, headers['user-agent'])
  if (knownMethod !== method) pairs.add(SEMCONV.methodOriginal, method)
  addAddresses(pairs, headers, scheme, socket.remoteAddress)
  return pairs
}

/**
 * server.address and server.port (where the caller sent the request) and client.address (who sent
 * it), read as semconv and the instrumentation read them: what a proxy says in `Forwarded` or
 * `X-Forwarded-Host`/`-For` first, then the Host header and the peer.
 */
function addAddresses(pairs: AttributePairs, headers: IncomingHttpHeaders, scheme: string, peer: string | undefined): void {
  const forwarded = typeof headers.forwarded === 'string' ? firstForwarded(headers.forwarded) : undefined
  const forwardedHost = headers['x-forwarded-host']
  const [host, proto] = forwarded?.has('host')
    ? [forwarded.get('host'), forwarded.get('proto')]
    : typeof forwardedHost === 'string'
      ? [forwardedHost, firstValue(headers['x-forwarded-proto'])]
      : [headers.host, scheme]
  if (host) {
    // `name`, `name:port` or `[v6]:port`; without a port the scheme's own, when known.
    const colon = host.lastIndexOf(':')
    const hasPort = colon > host.lastIndexOf(']')
    pairs.add(ATTR.serverAddress, hasPort ? host.slice(0, colon) : host)
    const port = hasPort ? Number(host.slice(colon + 1)) : proto === 'https' ? 443 : proto === 'http' ? 80 : NaN
    if (Number.isInteger(port)) pairs.add(ATTR.serverPort, port)
  }
  const forwardedFor = forwarded?.get('for') ?? firstValue(headers['x-forwarded-for'])
  const client = forwardedFor ? withoutPort(forwardedFor) : peer
  pairs.add(SEMCONV.clientAddress, client)
}

/** The first element of a `Forwarded` header (RFC 7239): the proxy nearest the client. */
function firstForwarded(header: string): Map<string, string> {
  const pairs = new Map<string, string>()
  for (const pair of (header.split(',')[0] ?? '').split(';')) {
    const equals = pair.indexOf('=')
    if (equals > 0) pairs.set(pair.slice(0, equals).trim().toLowerCase(), pair.slice(equals + 1).trim().replace(/^"(.*)"$/, '$1'))
  }
  return pairs
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header
  return value?.split(',')[0]?.trim() || undefined
}

/** `192.0.2.1:4711` → `192.0.2.1`, `[2001:db8::1]:4711` → `2001:db8::1`; anything else as it is. */
function withoutPort(address: string): string {
  try {
    const { hostname } = new URL(`http://${address}`)
    return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
  } catch {
    return address
  }
}
