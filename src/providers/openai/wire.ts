// POST {baseURL}/chat/completions over the shared undici Agent with `dispatcher.request()`, not
// the OpenAI SDK over fetch: on the gateway's hot path the SDK's request building, WHATWG
// streams and per-chunk SSE decoding cost more than the upstream exchange itself (see
// bench/RESULTS.md). What the SDK did for us is kept, with its semantics:
// - retries of connection errors, timeouts, 408/409/429/5xx (and `x-should-retry`), up to
//   maxRetries, before the first byte of an answer only;
// - its backoff: retry-after-ms, then retry-after (seconds or a date) when 0–60 s, else
//   0.5 s × 2^n (at most 8 s) less up to 25 % jitter;
// - the first-byte timeout (no response headers in time; for JSON answers, no body bytes in
//   time either), retried like a connection error, finally a 504;
// - error values shaped like the SDK's (status, headers.get, error), so upstream-errors.ts maps
//   them exactly as before.
import type { Dispatcher } from 'undici'
import { setTimeout as sleep } from 'node:timers/promises'
import { GatewayError } from '../../errors.ts'

export interface WireOptions {
  /** Provider name, for messages. */
  provider: string
  baseURL: string
  apiKey: string | undefined
  maxRetries: number
  firstByteTimeoutMs: number
  dispatcher: Dispatcher
}

/** An upstream answer with an error status, shaped as the Stainless SDKs' APIError. */
export class UpstreamStatusError extends Error {
  readonly status: number
  readonly headers: { get(name: string): string | null }
  /** The error object of the body (`body.error`, or the whole body when it has none). */
  readonly error: unknown

  constructor(status: number, headers: Dispatcher.ResponseData['headers'], text: string) {
    const json = safeJson(text)
    const error = json && typeof json === 'object' ? ((json as { error?: unknown }).error ?? json) : undefined
    super(statusMessage(status, error, json === undefined ? text : undefined))
    this.name = 'UpstreamStatusError'
    this.status = status
    this.headers = headerGetter(headers)
    this.error = error
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

function headerGetter(headers: Dispatcher.ResponseData['headers']): { get(name: string): string | null } {
  return {
    get(name: string) {
      const value = headers[name.toLowerCase()]
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
    },
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
const isTimeout = (error: unknown) => TIMEOUT_CODES.has((error as { code?: string } | null)?.code ?? '')

function shouldRetry(status: number, headers: Dispatcher.ResponseData['headers']): boolean {
  const header = headers['x-should-retry']
  if (header === 'true') return true
  if (header === 'false') return false
  return status === 408 || status === 409 || status === 429 || status >= 500
}

/** The SDK's wait before retry number `attempt + 1`. */
function retryDelayMs(headers: Dispatcher.ResponseData['headers'] | undefined, attempt: number): number {
  const get = headers ? headerGetter(headers).get : () => null
  let ms: number | undefined
  const afterMs = get('retry-after-ms')
  if (afterMs && !Number.isNaN(parseFloat(afterMs))) ms = parseFloat(afterMs)
  const after = get('retry-after')
  if (after && ms === undefined) {
    const seconds = parseFloat(after)
    ms = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > 60_000) {
    ms = Math.min(0.5 * 2 ** attempt, 8) * (1 - Math.random() * 0.25) * 1000
  }
  return ms
}

export class OpenAIWire {
  private readonly options: WireOptions
  private readonly origin: string
  private readonly path: string
  private readonly headers: Record<string, string>

  constructor(options: WireOptions) {
    this.options = options
    const url = new URL(options.baseURL)
    this.origin = url.origin
    this.path = `${url.pathname.replace(/\/+$/, '')}/chat/completions${url.search}`
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'sik-llms-gateway',
      // Local OpenAI-compatible servers often need no key; send what the SDK sent then.
      authorization: `Bearer ${options.apiKey ?? 'no-key'}`,
    }
  }

  /** A JSON answer: the 2xx body text. */
  complete(body: string, signal: AbortSignal): Promise<string> {
    return this.withRetries(body, false, signal, (response) => response.body.text())
  }

  /** A streamed answer: the 2xx response, its body unread (the caller must read or destroy it). */
  stream(body: string, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    return this.withRetries(body, true, signal, async (response) => response)
  }

  private async withRetries<T>(
    body: string,
    stream: boolean,
    signal: AbortSignal,
    read: (response: Dispatcher.ResponseData) => Promise<T>,
  ): Promise<T> {
    const { dispatcher, maxRetries, firstByteTimeoutMs, provider } = this.options
    for (let attempt = 0; ; attempt++) {
      const retriesLeft = attempt < maxRetries
      let response: Dispatcher.ResponseData
      try {
        response = await dispatcher.request({
          origin: this.origin,
          path: this.path,
          method: 'POST',
          headers: this.headers,
          body,
          signal,
          headersTimeout: firstByteTimeoutMs,
          // A stream may pause between tokens as long as the model likes (the total timeout bounds it).
          bodyTimeout: stream ? 0 : firstByteTimeoutMs,
        })
        if (response.statusCode >= 200 && response.statusCode < 300) return await read(response)
      } catch (error) {
        if (signal.aborted) throw error
        if (retriesLeft) {
          await sleep(retryDelayMs(undefined, attempt), undefined, { signal })
          continue
        }
        if (isTimeout(error)) throw new GatewayError('timeout', `${provider} did not answer in time`, { cause: error })
        throw Object.assign(new Error('Connection error.'), { cause: error })
      }
      const { statusCode, headers } = response
      if (retriesLeft && shouldRetry(statusCode, headers)) {
        await response.body.dump().catch(() => {})
        await sleep(retryDelayMs(headers, attempt), undefined, { signal })
        continue
      }
      const text = await response.body.text().catch((error: Error) => error.message)
      throw new UpstreamStatusError(statusCode, headers, text)
    }
  }
}
