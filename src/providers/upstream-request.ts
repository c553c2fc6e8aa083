// One upstream HTTP exchange on undici's dispatch API: the answer's status and headers once they
// come; its body as a Node Readable when it is a 2xx answer to a streamed request, else read whole
// (a JSON answer, any error): its chunks collected as they come, with no stream and no async
// iteration between them and `text()`. Status and headers as `Dispatcher.request()` gives them,
// without its handler.
//
// Why not `request()`: its handler stores a fresh arrow function on itself when the request starts
// (`this.abort = (reason) => controller.abort(reason)` in RequestHandler.onRequestStart). With
// Node 24's V8 that pattern makes the scavenger keep every request's objects alive, each young
// collection promoting all that the requests since the previous one allocated (bench/RESULTS.md,
// issue 15: 1.3 MB of 12.5 MB surviving each scavenge at one request at a time, 47 KB without
// it; a 5 ms pause every ~240 requests became 0.6 ms). Node's EventTarget does the same for a
// listener given as an object with handleEvent (it wraps it in an async arrow), so the caller's
// signal gets a function made with the handler (a class field), which measured clean.
import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'

export interface UpstreamResponse {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  /** A stream for a 2xx answer to a streamed request (`stream`), else the body read whole. */
  body: UpstreamBody | WholeBody
}

/**
 * `dispatcher.request(options)` as undici has it, for the options the gateway sends. `stream`: a
 * 2xx answer's body is read as it comes (server-sent events); any other is read whole. A streamed
 * request's body timeout is off (a stream may pause as long as the model likes); an error answer to
 * it, read whole, gets `headersTimeout` between its chunks instead, as a JSON answer's body would.
 */
export function upstreamRequest(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions & { signal: AbortSignal }, stream = false): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const handler = new ResponseHandler(options.signal, stream, stream ? (options.headersTimeout ?? 0) : 0, resolve, reject)
    if (options.signal.aborted) return handler.onResponseError(null, abortReason(options.signal))
    options.signal.addEventListener('abort', handler.onAbort, { once: true })
    dispatcher.dispatch(options, handler)
  })
}

/**
 * The body of a 2xx answer to a streamed request: read it (iteration, `data` events; `text()` reads
 * it whole, as a WholeBody's) or destroy it to hang up.
 */
export class UpstreamBody extends Readable {
  private readonly controller: Dispatcher.DispatchController
  private readonly handler: ResponseHandler

  constructor(controller: Dispatcher.DispatchController, handler: ResponseHandler) {
    super({ highWaterMark: 64 * 1024 })
    this.controller = controller
    this.handler = handler
  }

  /** The whole body as UTF-8 text, without a byte order mark (as undici's text()). */
  async text(): Promise<string> {
    const chunks: Buffer[] = []
    for await (const chunk of this) chunks.push(chunk as Buffer)
    return utf8(chunks)
  }

  /**
   * Fails the body with `error`. A listener of our own first: an abort or a broken connection
   * before anyone reads the body must not become an unhandled 'error' (readers still get it).
   */
  fail(error: Error): void {
    if (!this.destroyed) this.on('error', noop).destroy(error)
  }

  override _read(): void {
    this.controller.resume()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.handler.closed()
    // Destroyed before its end: the exchange is abandoned (the connection closes), as undici does.
    if (!this.readableEnded) this.controller.abort(error ?? abortedError())
    callback(error)
  }
}

/**
 * A body read whole: its chunks kept as they come, `text()` settled at its end, or failed with what
 * broke the exchange (an abort, a timeout, a reset). Failed before anyone asked, it rejects only
 * when asked: nothing unhandled.
 */
export class WholeBody {
  private chunks: Buffer[] = []
  private outcome: { text: string } | { error: Error } | undefined
  /** The promise text() gave, the same for every call. */
  private result: Promise<string> | undefined
  private settle: { resolve(text: string): void; reject(error: Error): void } | undefined

  /** The whole body as UTF-8 text, without a byte order mark (as undici's text()). */
  text(): Promise<string> {
    if (this.result) return this.result
    const { outcome } = this
    this.result = outcome
      ? 'text' in outcome
        ? Promise.resolve(outcome.text)
        : Promise.reject(outcome.error)
      : new Promise<string>((resolve, reject) => (this.settle = { resolve, reject }))
    return this.result
  }

  add(chunk: Buffer): void {
    this.chunks.push(chunk)
  }

  end(): void {
    this.done({ text: utf8(this.chunks) })
  }

  fail(error: Error): void {
    this.done({ error })
  }

  private done(outcome: { text: string } | { error: Error }): void {
    if (this.outcome) return
    this.outcome = outcome
    this.chunks = []
    if (!this.settle) return
    if ('text' in outcome) this.settle.resolve(outcome.text)
    else this.settle.reject(outcome.error)
  }
}

function utf8(chunks: Buffer[]): string {
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  return bytes.toString('utf8', bom)
}

class ResponseHandler implements Dispatcher.DispatchHandler {
  /** The caller's signal fired: the exchange is given up, at whatever stage it is. */
  readonly onAbort = () => this.abort()
  private readonly signal: AbortSignal
  private readonly stream: boolean
  /** A streamed request's: the wait allowed between the chunks of an error answer's body (0: none). */
  private readonly errorBodyTimeoutMs: number
  private errorBodyTimer: NodeJS.Timeout | undefined
  private resolve: ((response: UpstreamResponse) => void) | undefined
  private reject: ((error: Error) => void) | undefined
  private controller: Dispatcher.DispatchController | undefined
  private body: UpstreamBody | undefined
  private whole: WholeBody | undefined

  constructor(signal: AbortSignal, stream: boolean, errorBodyTimeoutMs: number, resolve: (response: UpstreamResponse) => void, reject: (error: Error) => void) {
    this.signal = signal
    this.stream = stream
    this.errorBodyTimeoutMs = errorBodyTimeoutMs
    this.resolve = resolve
    this.reject = reject
  }

  private abort(): void {
    const reason = abortReason(this.signal)
    if (this.body) this.body.fail(reason)
    // Before the answer, or while a body read whole comes: undici gives up the exchange (HTTP/1.1
    // closes the connection, HTTP/2 resets the stream) and calls onResponseError with the reason.
    else if (this.controller) this.controller.abort(reason)
    else this.onResponseError(null, reason)
  }

  /** The body ended or was destroyed: the caller's signal no longer concerns this exchange. */
  closed(): void {
    this.signal.removeEventListener('abort', this.onAbort)
    if (this.errorBodyTimer) clearTimeout(this.errorBodyTimer)
  }

  /** (Re)starts the wait for the next chunk of a body read whole, when it has one (an error answer to a streamed request). */
  private awaitErrorBody(controller: Dispatcher.DispatchController): void {
    if (!this.errorBodyTimeoutMs) return
    if (this.errorBodyTimer) this.errorBodyTimer.refresh()
    else this.errorBodyTimer = setTimeout(() => controller.abort(bodyTimeoutError()), this.errorBodyTimeoutMs).unref()
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.signal.aborted) return controller.abort(abortReason(this.signal))
    this.controller = controller
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx answers (100 Continue, 103 Early Hints) precede the real one.
    if (statusCode < 200) return
    const resolve = this.resolve
    if (!resolve) return
    this.resolve = this.reject = undefined
    if (this.stream && statusCode < 300) {
      resolve({ statusCode, headers, body: (this.body = new UpstreamBody(controller, this)) })
      return
    }
    resolve({ statusCode, headers, body: (this.whole = new WholeBody()) })
    this.awaitErrorBody(controller)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.whole) {
      this.whole.add(chunk)
      this.awaitErrorBody(controller)
    } else if (this.body && !this.body.push(chunk)) controller.pause()
  }

  onResponseEnd(): void {
    if (this.whole) {
      this.closed()
      this.whole.end()
    } else this.body?.push(null)
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    const reject = this.reject
    if (reject) {
      this.resolve = this.reject = undefined
      this.closed()
      reject(error)
    } else if (this.whole) {
      this.closed()
      this.whole.fail(error)
    } else {
      this.body?.fail(error)
    }
  }
}

function noop(): void {}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : abortedError()
}

/** What undici's own body timeout fails a body with (UND_ERR_BODY_TIMEOUT). */
function bodyTimeoutError(): Error {
  return Object.assign(new Error('Body Timeout Error'), { name: 'BodyTimeoutError', code: 'UND_ERR_BODY_TIMEOUT' })
}

function abortedError(): Error {
  return Object.assign(new Error('Request aborted'), { name: 'AbortError', code: 'UND_ERR_ABORTED' })
}
