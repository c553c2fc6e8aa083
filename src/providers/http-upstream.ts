// One HTTP exchange with a provider: POST a JSON body over the shared undici dispatcher and get
// back the JSON answer or the server-sent events, as values. One attempt only: retries belong to
// the dispatch (src/core/attempts.ts), which sees every attempt as its own span.
//
// `dispatcher.request()`, not an SDK over fetch: on the gateway's hot path the SDKs' request
// building, WHATWG streams and per-chunk SSE decoding cost more than the exchange itself (see
// bench/RESULTS.md). What the SDKs did for us is kept, with their semantics: the first-byte
// timeout (no response headers in time; for JSON answers, no body bytes in time either), and
// error values shaped like theirs (status, headers.get, error), so upstream-errors.ts maps them.
// Each exchange has its `POST` CLIENT span (src/telemetry/client-span.ts), started as the request
// goes out (its traceparent in the headers) and ended once the body is read, or broken.
import type { Readable } from 'node:stream'
import type { StreamEvent } from '../core/translator.ts'
import type { SendOptions } from '../core/types.ts'
import { AnswerError, GatewayError } from '../errors.ts'
import { startUpstreamSpan, type UpstreamOrigin, type UpstreamSpan } from '../telemetry/client-span.ts'
import { SseDecoder, type SseEvent } from './openai/sse.ts'
import { UpstreamStreamError } from './upstream-errors.ts'
import type { Dispatcher } from 'undici'
import { endpointOf } from './upstream-client.ts'
import { UpstreamBody, upstreamRequest, type UpstreamResponse } from './upstream-request.ts'

export interface HttpUpstreamOptions {
  /** Provider name, for messages. */
  provider: string
  baseURL: string
  /** Sent on every request (auth, API version). */
  headers: Record<string, string>
  firstByteTimeoutMs: number
  dispatcher: Dispatcher
}

/** What an error answer's body says, read once (ErrorBodies). */
interface ErrorBody {
  status: number
  text: string
  /** The body's error object (`body.error`, or the whole body when it has none); read only, it may be shared. */
  error: unknown
  message: string
}

function readErrorBody(status: number, text: string): ErrorBody {
  const json = safeJson(text)
  const error = json && typeof json === 'object' ? ((json as { error?: unknown }).error ?? json) : undefined
  return { status, text, error, message: statusMessage(status, error, json === undefined ? text : undefined) }
}

/**
 * An upstream that fails tends to answer every call with the same body (an outage, a rate limit):
 * the last one read is kept, so a route group moving past a target that is down does not parse its
 * answer again for every call. Small bodies only.
 */
class ErrorBodies {
  private last: ErrorBody | undefined

  read(status: number, text: string): ErrorBody {
    const { last } = this
    if (last !== undefined && last.status === status && last.text === text) return last
    const body = readErrorBody(status, text)
    this.last = text.length <= MAX_KEPT_ERROR_BODY ? body : undefined
    return body
  }
}
/** Characters. */
const MAX_KEPT_ERROR_BODY = 4_096

/** An upstream answer with an error status, shaped as the Stainless SDKs' APIError. */
export class UpstreamStatusError extends AnswerError {
  readonly status: number
  readonly headers: { get(name: string): string | null }
  /** The error object of the body (`body.error`, or the whole body when it has none); read only, it may be shared. */
  readonly error: unknown

  constructor(headers: UpstreamResponse['headers'], body: ErrorBody) {
    super(body.message)
    this.name = 'UpstreamStatusError'
    this.status = body.status
    this.headers = headerGetter(headers)
    this.error = body.error
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The SDK's APIError.makeMessage. */
function statusMessage(status: number | undefined, error: unknown, text: string | undefined): string {
  const inner = (error as { message?: unknown } | undefined)?.message
  const msg = inner ? (typeof inner === 'string' ? inner : JSON.stringify(inner)) : error ? JSON.stringify(error) : text
  if (status && msg) return `${status} ${msg}`
  if (status) return `${status} status code (no body)`
  return msg || '(no status code or body)'
}

export function headerGetter(headers: UpstreamResponse['headers']): { get(name: string): string | null } {
  return {
    get(name: string) {
      const value = headers[name.toLowerCase()]
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
    },
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
const isTimeout = (error: unknown) => TIMEOUT_CODES.has((error as { code?: string } | null)?.code ?? '')

/** A connection that failed before any answer: the SDKs' APIConnectionError. */
export class UpstreamConnectionError extends AnswerError {
  constructor(cause: unknown) {
    super('Connection error.', { cause })
    this.name = 'UpstreamConnectionError'
  }
}

/** An answer passed on as it came. */
export interface ForwardedAnswer {
  status: number
  contentType: string
  body: string
}

/** An answer whose headers came, and the span of its exchange, ended once its body is read. */
interface Answer {
  response: UpstreamResponse
  span: UpstreamSpan | undefined
}

export class HttpUpstream {
  private readonly options: HttpUpstreamOptions
  private readonly target: UpstreamOrigin
  private readonly basePath: string
  private readonly search: string
  private readonly errorBodies = new ErrorBodies()

  constructor(options: HttpUpstreamOptions) {
    this.options = options
    const url = new URL(options.baseURL)
    this.target = { origin: url.origin, ...endpointOf(options.baseURL) }
    this.basePath = url.pathname.replace(/\/+$/, '')
    this.search = url.search
  }

  /** A JSON answer to `POST {baseURL}{path}`; `path` starts with `/`. */
  async json(path: string, body: string, signal: AbortSignal, options?: SendOptions): Promise<Record<string, unknown>> {
    const answer = await this.request('POST', path, body, false, signal, options)
    const text = await this.bodyText(answer, signal)
    const json = safeJson(text)
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new GatewayError('upstream_error', `${this.options.provider} answered with something that is not a JSON object`)
    }
    return json as Record<string, unknown>
  }

  /** The events of a streamed answer to `POST {baseURL}{path}`. */
  async events(path: string, body: string, signal: AbortSignal, options?: SendOptions): Promise<AsyncIterable<StreamEvent>> {
    const { response, span } = await this.request('POST', path, body, true, signal, options)
    // request() answers 2xx only, and upstreamRequest gives a 2xx answer to a streamed request as a stream.
    if (!(response.body instanceof UpstreamBody)) throw new Error('a streamed answer came without its stream')
    return readEvents(response.body, signal, span)
  }

  /** Any other exchange (GET / DELETE of a stored response): a 2xx answered as it came, else an error. */
  async forward(method: 'GET' | 'DELETE', path: string, signal: AbortSignal, options?: SendOptions): Promise<ForwardedAnswer> {
    const answer = await this.request(method, path, undefined, false, signal, options)
    const type = headerGetter(answer.response.headers).get('content-type') ?? 'application/json'
    return { status: answer.response.statusCode, contentType: type, body: await this.bodyText(answer, signal) }
  }

  /** A JSON answer's body: the first-byte timeout covers its bytes too, and says so when it fires. */
  private async bodyText({ response, span }: Answer, signal: AbortSignal): Promise<string> {
    try {
      const text = await response.body.text()
      span?.end()
      return text
    } catch (error) {
      span?.end(signal.aborted ? undefined : error)
      if (!signal.aborted && isTimeout(error)) {
        throw new GatewayError('timeout', `${this.options.provider} stopped sending its answer`, { cause: error })
      }
      throw error
    }
  }

  /** `path` under the base URL, with the base URL's query string (Azure's api-version) joined to its own. */
  private pathOf(path: string): string {
    if (!this.search) return `${this.basePath}${path}`
    return `${this.basePath}${path}${path.includes('?') ? `&${this.search.slice(1)}` : this.search}`
  }

  private async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: string | undefined,
    stream: boolean,
    signal: AbortSignal,
    options?: SendOptions,
  ): Promise<Answer> {
    const { dispatcher, firstByteTimeoutMs, provider } = this.options
    // The caller's headers that pass on (an allowlist the route chose: anthropic-version,
    // anthropic-beta; never credentials) may override our defaults, such as the API version.
    const extra = options?.headers
    const own = extra ? { ...this.options.headers, ...extra } : this.options.headers
    const headers = stream ? { ...own, accept: 'text/event-stream' } : own
    const requestPath = this.pathOf(path)
    const span = startUpstreamSpan(method, this.target, requestPath, headers, options?.parent)
    let response: UpstreamResponse
    try {
      response = await upstreamRequest(dispatcher, {
        origin: this.target.origin,
        path: requestPath,
        method,
        headers: span?.headers ?? headers,
        body,
        signal,
        headersTimeout: firstByteTimeoutMs,
        // A stream may pause between tokens as long as the model likes (the total timeout bounds it).
        bodyTimeout: stream ? 0 : firstByteTimeoutMs,
      }, stream)
    } catch (error) {
      span?.end(signal.aborted ? undefined : error)
      if (signal.aborted) throw error
      if (isTimeout(error)) throw new GatewayError('timeout', `${provider} did not answer in time`, { cause: error })
      throw new UpstreamConnectionError(error)
    }
    span?.answered(response.statusCode)
    if (response.statusCode >= 200 && response.statusCode < 300) return { response, span }
    const text = await response.body.text().catch((error: Error) => error.message)
    span?.end()
    throw new UpstreamStatusError(response.headers, this.errorBodies.read(response.statusCode, text))
  }
}

/**
 * The events of an SSE body as the SDKs read them: `[DONE]` ends the stream whatever follows;
 * malformed JSON and error payloads throw. The body is not destroyed at `[DONE]` or at its end:
 * destroying it early would close the keep-alive connection.
 */
async function* readEvents(readable: Readable, signal: AbortSignal, span: UpstreamSpan | undefined): AsyncGenerator<StreamEvent> {
  const decoder = new SseDecoder()
  const events: SseEvent[] = []
  let done = false
  /** What broke the exchange itself (not a payload the upstream sent, nor an abort): its span says so. */
  let broken: unknown
  readable.setEncoding('utf8')
  const iterator = readable.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<string>
  try {
    for await (const text of iterator) {
      decoder.push(text, events)
      for (const event of events) {
        if (event.data === '[DONE]') {
          done = true
          return
        }
        yield eventOf(event)
      }
      events.length = 0
    }
    done = true
  } catch (error) {
    // Aborted (caller gone, total timeout): the dispatch explains it.
    if (signal.aborted) throw error
    if (error instanceof UpstreamStreamError || error instanceof SyntaxError) throw error
    broken = error
    throw new UpstreamConnectionError(error)
  } finally {
    span?.end(broken)
    if (done) drainQuietly(readable)
    // Stopped early (caller gone, an error): hang up, so the upstream stops generating. The
    // iterator's listeners are gone: without one of ours, the abort error would be unhandled.
    else if (!readable.readableEnded) readable.on('error', noop).destroy()
  }
}

/** After [DONE] the body's end is at most a packet away: read it, unless it does not come. */
function drainQuietly(readable: Readable): void {
  if (readable.readableEnded || readable.destroyed) return
  const timer = setTimeout(() => readable.destroy(), DRAIN_AFTER_DONE_MS).unref()
  readable.once('close', () => clearTimeout(timer))
  readable.on('error', noop)
  readable.resume()
}
const DRAIN_AFTER_DONE_MS = 5000
const noop = () => {}

/** One event, as the SDKs read it: malformed JSON and error payloads throw. */
function eventOf(event: SseEvent): StreamEvent {
  let data: unknown
  try {
    data = JSON.parse(event.data)
  } catch {
    throw new SyntaxError('Error reading response: malformed server-sent event JSON.')
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SyntaxError('Error reading response: a server-sent event that is not a JSON object.')
  }
  const error = (data as { error?: unknown }).error
  // Anthropic: `event: error` with `{type: 'error', error: {…}}`; OpenAI chat: `data: {"error": …}`;
  // Responses streams name their failures `error` / `response.failed` and are passed on as events.
  if (event.event === 'error' || (error && (data as { type?: unknown }).type === undefined)) {
    throw new UpstreamStreamError(error ?? data)
  }
  if ((data as { type?: unknown }).type === 'error' && error) throw new UpstreamStreamError(error)
  return { event: event.event, data: data as Record<string, unknown>, raw: event.singleLine ? event.data : undefined }
}
