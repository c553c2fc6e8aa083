// The gateway key check, in one place for the two that need it: the HTTP instrumentation (a caller
// without a valid key gets no server span, so it can neither fill the trace store nor join a
// victim's trace through `traceparent`) and the server's onRequest hook (which answers the 401).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { OPEN, UNNAMED, type Principal } from './keys/principal.ts'

/** `ok` also when no keys are configured or the path is public. */
export type AuthResult = 'ok' | 'missing' | 'invalid'

/** Probes need no key; everything else, /metrics included, does when keys are set. */
const PUBLIC_PATHS = new Set(['/health', '/ready'])

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Compares against every key with timingSafeEqual on fixed-length digests: no early exit. */
function keyChecker(keys: string[]): (presented: string) => boolean {
  const digests = keys.map(digest)
  return (presented) => {
    const candidate = digest(presented)
    let ok = false
    for (const d of digests) ok = timingSafeEqual(d, candidate) || ok
    return ok
  }
}

/** The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
export function bearerToken(header: string | undefined): string {
  const match = /^bearer[ \t]+(.*)$/i.exec(header ?? '')
  return match?.[1]?.trim() ?? ''
}

function apiKeyHeader(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value.trim() : ''
}

export interface Authenticator {
  /** Whether any key is configured (no keys: every caller is let in, on loopback only). */
  readonly enabled: boolean
  /** The verdict for this request, computed once per request and remembered. */
  check(request: IncomingMessage): AuthResult
  /** Who the request is, once `check` said `ok` (undefined for a public path or a refused key). */
  principal(request: IncomingMessage): Principal | undefined
}

export function createAuthenticator(keys: string[]): Authenticator {
  if (keys.length === 0) return { enabled: false, check: () => 'ok', principal: () => OPEN }
  const isKey = keyChecker(keys)
  // The instrumentation asks first, the server's hook second: hash the presented key once.
  const verdicts = new WeakMap<IncomingMessage, AuthResult>()
  const judge = (request: IncomingMessage): AuthResult => {
    if (PUBLIC_PATHS.has((request.url ?? '').split('?')[0] ?? '')) return 'ok'
    // `Authorization: Bearer` (OpenAI SDKs, ANTHROPIC_AUTH_TOKEN) or `x-api-key` (what the
    // Anthropic SDKs and Claude Code send for ANTHROPIC_API_KEY). Older Anthropic SDKs
    // with both variables set send both: a gateway key in either lets the caller in.
    const tokens = [bearerToken(request.headers.authorization), apiKeyHeader(request.headers['x-api-key'])].filter(Boolean)
    if (tokens.length === 0) return 'missing'
    return tokens.some(isKey) ? 'ok' : 'invalid'
  }
  return {
    enabled: true,
    check: (request) => {
      let verdict = verdicts.get(request)
      if (verdict === undefined) verdicts.set(request, (verdict = judge(request)))
      return verdict
    },
    principal: (request) => (verdicts.get(request) === 'ok' ? UNNAMED : undefined),
  }
}
