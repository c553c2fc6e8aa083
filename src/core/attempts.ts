// When to try a model call again, and how long to wait: the one retry policy for every provider
// (the SDKs' own retries are off). Retried: connection errors, first-byte timeouts and the
// statuses the OpenAI and Anthropic SDKs retry (408, 409, 429, 5xx, or what `x-should-retry`
// says), only before the first byte of an answer reached the caller. The wait is the SDKs':
// `retry-after-ms`, else `retry-after` (seconds or a date) when 0–60 s, else 0.5 s × 2^n (at most
// 8 s) less up to 25 % jitter.
import { GatewayError } from '../errors.ts'

interface StatusLike {
  status?: unknown
  headers?: { get?(name: string): string | null }
}

/** The upstream's own error under a GatewayError (its status and headers), when there is one. */
function upstreamOf(error: unknown): StatusLike | undefined {
  const cause = error instanceof GatewayError ? (error.cause as StatusLike | undefined) : (error as StatusLike | undefined)
  return typeof cause === 'object' && cause !== null ? cause : undefined
}

/** The failures without an HTTP status worth another attempt. */
const STREAM_RETRYABLE: ReadonlySet<string> = new Set(['connection_error', 'timeout', 'rate_limited', 'upstream_overloaded', 'upstream_error'])

/** Whether a failed attempt is worth another. Errors the caller caused (4xx but 408/409/429) are not. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof GatewayError)) return false
  if (error.kind === 'cancelled' || error.kind === 'internal' || error.kind === 'unavailable') return false
  const upstream = upstreamOf(error)
  const status = typeof upstream?.status === 'number' ? upstream.status : undefined
  if (status !== undefined) {
    const verdict = upstream?.headers?.get?.('x-should-retry')
    if (verdict === 'true') return true
    if (verdict === 'false') return false
    return status === 408 || status === 409 || status === 429 || status >= 500
  }
  // No status: the connection failed, the first byte did not come in time, or the upstream said
  // in its stream, before the stream's first event, that it failed as a 429 or 5xx would. (An
  // attempt ends with a stream's first event: an error after it comes after bytes reached the
  // caller, and is never retried.)
  return STREAM_RETRYABLE.has(error.kind)
}

/** The wait before attempt number `attempt + 1` (0-based), in milliseconds. */
export function retryDelayMs(error: unknown, attempt: number, random: () => number = Math.random): number {
  const get = upstreamOf(error)?.headers?.get?.bind(upstreamOf(error)?.headers) ?? (() => null)
  let ms: number | undefined
  const afterMs = get('retry-after-ms')
  if (afterMs && !Number.isNaN(parseFloat(afterMs))) ms = parseFloat(afterMs)
  const after = get('retry-after')
  if (after && ms === undefined) {
    const seconds = parseFloat(after)
    ms = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > 60_000) {
    ms = Math.min(0.5 * 2 ** attempt, 8) * (1 - random() * 0.25) * 1000
  }
  return ms
}

/**
 * Whether the upstream refused the request for its length (OpenAI's `context_length_exceeded`,
 * Anthropic's "prompt is too long", a 413): a route group may send it on to a target with a larger
 * context window (`contextFallback`), never to the others.
 */
export function isContextLength(error: unknown): boolean {
  if (!(error instanceof GatewayError) || error.kind !== 'invalid_request') return false
  if (error.code === 'context_length_exceeded' || error.status === 413) return true
  return /context[ _]length|context window|maximum context|prompt is too long|too many (input )?tokens/i.test(error.message)
}

/**
 * Whether a route group moves on to its next target after this failure (and counts it against the
 * target's breaker): whatever is worth a retry, a 5xx the upstream said not to retry (on this
 * target), and what only this target gets wrong: the gateway's credentials refused, the target's
 * model unknown upstream. The caller's own mistakes (400, 422, a 404 for a file or response id
 * it named) would fail on every target: they are answered at once.
 */
export function movesOn(error: unknown): boolean {
  if (isRetryable(error)) return true
  if (!(error instanceof GatewayError)) return false
  if (error.kind === 'upstream_auth' || error.kind === 'upstream_error' || error.kind === 'upstream_overloaded') return true
  // Every upstream 404 is `model_not_found`; only one that speaks of the model is the target's.
  return error.kind === 'model_not_found' && /\bmodel\b/i.test(error.message)
}
