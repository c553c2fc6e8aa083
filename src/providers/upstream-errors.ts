// Maps what the official SDKs throw (both are Stainless-generated and share one error shape) to
// the gateway's errors. Upstream messages are passed on, scrubbed of anything key-shaped; the
// gateway's own secrets never are (src/scrub.ts).
import { AnswerError, GatewayError } from '../errors.ts'
import type { SecretScrubber } from '../scrub.ts'

interface StainlessError extends Error {
  status?: number
  headers?: Headers
  error?: unknown
}

interface UpstreamErrorBody {
  message?: unknown
  type?: unknown
  code?: unknown
  param?: unknown
}

/**
 * An error the upstream sent inside a 200 stream: OpenAI's `data: {"error": {…}}` (or an
 * `event: error`), Anthropic's `event: error`. No status, but the body says what it is.
 */
export class UpstreamStreamError extends AnswerError {
  /** The error object: `{message, type, code?}`. */
  readonly error: unknown
  constructor(error: unknown) {
    const message = (error as { message?: unknown } | null)?.message
    // A bare string (`data: {"error": "overloaded"}`) is the message itself.
    super(typeof error === 'string' && error !== '' ? error : typeof message === 'string' && message !== '' ? message : JSON.stringify(error) ?? '(no message)')
    this.name = 'UpstreamStreamError'
    this.error = error
  }
}

/**
 * The status an error sent inside a stream would have had as an answer: Anthropic documents its
 * error types by status; OpenAI's streams carry its `type` or `code`.
 */
const STATUS_OF_STREAM_ERROR: Record<string, number> = {
  invalid_request_error: 400,
  context_length_exceeded: 400,
  authentication_error: 401,
  invalid_api_key: 401,
  permission_error: 403,
  not_found_error: 404,
  model_not_found: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  rate_limit_exceeded: 429,
  insufficient_quota: 429,
  api_error: 500,
  server_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
  server_is_overloaded: 529,
  engine_overloaded: 529,
}

/** OpenAI's SDK keeps the inner `error` object, Anthropic's the whole `{type, error}` envelope. */
function upstreamBody(error: StainlessError): UpstreamErrorBody {
  const body = error.error as (UpstreamErrorBody & { error?: UpstreamErrorBody }) | undefined
  const inner = body?.error ?? body
  return typeof inner === 'object' && inner !== null ? inner : {}
}

function upstreamMessage(error: StainlessError): string {
  const message = upstreamBody(error).message
  return typeof message === 'string' ? message : error.message
}

/** The status of an error without one that came in a stream, from its type or code; else undefined. */
function streamErrorStatus(error: StainlessError): number | undefined {
  // Ours (any payload, a bare string included) or the SDK's own for an `event: error` (an error
  // object, no status); anything else without a status is the connection failing.
  const fromStream = error instanceof UpstreamStreamError || (typeof error.error === 'object' && error.error !== null)
  if (!fromStream) return undefined
  const { type, code } = upstreamBody(error)
  for (const name of [type, code]) {
    if (typeof name === 'string' && STATUS_OF_STREAM_ERROR[name] !== undefined) return STATUS_OF_STREAM_ERROR[name]
  }
  // An error object of a kind we do not know: still the upstream failing, not the connection.
  return 500
}

function isOverloaded(status: number, body: UpstreamErrorBody): boolean {
  return status === 529 || [body.type, body.code].some((name) => typeof name === 'string' && name.includes('overloaded'))
}

/** `provider` is the display name used in messages (e.g. "anthropic"). */
export function toGatewayError(provider: string, error: unknown, scrubber: SecretScrubber): GatewayError {
  if (error instanceof GatewayError) return error
  const e = error as StainlessError
  const kind = e?.constructor?.name
  if (kind === 'APIConnectionTimeoutError') {
    return new GatewayError('timeout', `${provider} did not answer in time`, { cause: error })
  }
  const inStream = typeof e?.status !== 'number' ? streamErrorStatus(e) : undefined
  if (typeof e?.status !== 'number' && inStream === undefined) {
    const detail = scrubber.scrub(e?.message ?? String(error))
    return new GatewayError('connection_error', `the connection to ${provider} failed: ${detail}`, { cause: error })
  }
  const status = inStream ?? (e.status as number)
  const body = upstreamBody(e)
  // How the message says what came: an answer's status, or the error's type in the stream.
  const what = inStream === undefined ? String(status) : `${String(body.type ?? body.code ?? 'error')} in the stream`
  const message = scrubber.scrub(upstreamMessage(e))
  if (status === 429) {
    const headers: Record<string, string> = {}
    const retryAfter = e.headers?.get?.('retry-after')
    if (retryAfter) headers['retry-after'] = retryAfter
    return new GatewayError('rate_limited', `${provider} rate limit: ${message}`, { headers, cause: error })
  }
  if (status === 401 || status === 403) {
    return new GatewayError('upstream_auth', `${provider} rejected the gateway's credentials (${what}): ${message}`, {
      cause: error,
    })
  }
  if (status === 404) {
    return new GatewayError('model_not_found', message, { cause: error })
  }
  if (status === 408 || status === 504) {
    return new GatewayError('timeout', `${provider} timed out (${what}): ${message}`, { cause: error })
  }
  if (status >= 400 && status < 500) {
    // The request itself was refused (bad image URL, context too long …): the caller's fault, so
    // it stays a 4xx with the upstream's own words.
    const { code, param } = body
    return new GatewayError('invalid_request', message, {
      status,
      code: typeof code === 'string' ? code : null,
      param: typeof param === 'string' ? param : null,
      cause: error,
    })
  }
  if (isOverloaded(status, body)) {
    return new GatewayError('upstream_overloaded', `${provider} is overloaded (${what}): ${message}`, { cause: error })
  }
  return new GatewayError('upstream_error', `${provider} failed (${what}): ${message}`, { cause: error })
}

/** A stream's events with whatever the reading throws mapped to the gateway's errors (an abort is the dispatch's to explain). */
export async function* mapErrors<T>(events: AsyncIterable<T>, signal: AbortSignal, fail: (error: unknown) => GatewayError): AsyncGenerator<T> {
  try {
    yield* events
  } catch (error) {
    throw signal.aborted ? error : fail(error)
  }
}
