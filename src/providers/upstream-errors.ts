// Maps what the official SDKs throw (both are Stainless-generated and share one error shape) to
// the gateway's errors. Upstream messages are passed on; the gateway's own secrets never are.
import { GatewayError } from '../errors.ts'

interface StainlessError extends Error {
  status?: number
  headers?: Headers
  error?: unknown
}

interface UpstreamErrorBody {
  message?: unknown
  code?: unknown
  param?: unknown
}

/** OpenAI's SDK keeps the inner `error` object, Anthropic's the whole `{type, error}` envelope. */
function upstreamBody(error: StainlessError): UpstreamErrorBody {
  const body = error.error as (UpstreamErrorBody & { error?: UpstreamErrorBody }) | undefined
  return body?.error ?? body ?? {}
}

function upstreamMessage(error: StainlessError): string {
  const message = upstreamBody(error).message
  return typeof message === 'string' ? message : error.message
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]')
  return out
}

/** `provider` is the display name used in messages (e.g. "anthropic"). */
export function toGatewayError(provider: string, error: unknown, secrets: readonly string[]): GatewayError {
  if (error instanceof GatewayError) return error
  const e = error as StainlessError
  const kind = e?.constructor?.name
  if (kind === 'APIConnectionTimeoutError') {
    return new GatewayError('timeout', `${provider} did not answer in time`, { cause: error })
  }
  if (typeof e?.status !== 'number') {
    const detail = scrubSecrets(e?.message ?? String(error), secrets)
    return new GatewayError('connection_error', `the connection to ${provider} failed: ${detail}`, { cause: error })
  }
  const status = e.status
  const message = scrubSecrets(upstreamMessage(e), secrets)
  if (status === 429) {
    const headers: Record<string, string> = {}
    const retryAfter = e.headers?.get('retry-after')
    if (retryAfter) headers['retry-after'] = retryAfter
    return new GatewayError('rate_limited', `${provider} rate limit: ${message}`, { headers, cause: error })
  }
  if (status === 401 || status === 403) {
    return new GatewayError('upstream_auth', `${provider} rejected the gateway's credentials (${status}): ${message}`, {
      cause: error,
    })
  }
  if (status === 404) {
    return new GatewayError('model_not_found', message, { cause: error })
  }
  if (status === 408 || status === 504) {
    return new GatewayError('timeout', `${provider} timed out (${status}): ${message}`, { cause: error })
  }
  if (status >= 400 && status < 500) {
    // The request itself was refused (bad image URL, context too long …): the caller's fault, so
    // it stays a 4xx with the upstream's own words.
    const { code, param } = upstreamBody(e)
    return new GatewayError('invalid_request', message, {
      status,
      code: typeof code === 'string' ? code : null,
      param: typeof param === 'string' ? param : null,
      cause: error,
    })
  }
  return new GatewayError('upstream_error', `${provider} failed (${status}): ${message}`, { cause: error })
}
