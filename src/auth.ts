// The gateway key check, in one place for the two that need it: the SERVER span (a caller
// without a valid key gets none, so it can neither fill the trace store nor join a
// victim's trace through `traceparent`) and the server's onRequest hook (which answers the 401).
// A presented key is one of: a named key (the keys file, the admin API: src/keys/), one of
// GATEWAY_API_KEYS (unnamed), or GATEWAY_MASTER_KEY. Every comparison is between SHA-256 digests,
// with timingSafeEqual.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { GatewayError } from './errors.ts'
import { digestOf } from './keys/hash.ts'
import type { KeyRing } from './keys/keyring.ts'
import { OPEN, UNNAMED, type Principal } from './keys/principal.ts'

/** `ok` also when no keys are configured or the path is public. */
export type AuthResult = 'ok' | 'missing' | 'invalid' | 'revoked'

/** The verdict once the shared key store was asked too; `unavailable`: it could not be, for a key this process does not know. */
export type SettledAuth = { verdict: AuthResult | 'unavailable'; principal: Principal | undefined }

/** Probes need no key; everything else, /metrics included, does when keys are set. */
const PUBLIC_PATHS = new Set(['/health', '/ready'])

/** Compares against every key with timingSafeEqual on fixed-length digests: no early exit. */
function keyChecker(keys: string[]): (candidate: Buffer) => boolean {
  const digests = keys.map(digestOf)
  return (candidate) => {
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
  /**
   * `check`, then what only the shared key store (Redis) can tell: a key of the admin API revoked
   * on another replica is refused at once, and one created there a moment ago is let in.
   */
  settle(request: IncomingMessage): Promise<SettledAuth>
}

export interface AuthKeys {
  /** GATEWAY_API_KEYS: let in, unnamed. */
  apiKeys: string[]
  /** GATEWAY_MASTER_KEY: the admin API's key. */
  masterKey?: string | undefined
  /** Named keys; set when GATEWAY_KEYS_FILE or the master key (the admin API) is. */
  keyring?: KeyRing | undefined
}

interface Judgement {
  verdict: AuthResult
  principal: Principal | undefined
  /** The digests presented, for the shared store's lookup of a key this process does not know. */
  digests: Buffer[]
  /** A key of the admin API: confirmed not revoked by the shared store, each request. */
  adminKeyId?: string | undefined
}

const PUBLIC: Judgement = { verdict: 'ok', principal: undefined, digests: [] }

export function createAuthenticator(keys: AuthKeys): Authenticator {
  const { keyring } = keys
  if (keys.apiKeys.length === 0 && !keys.masterKey && !keyring) {
    return { enabled: false, check: () => 'ok', principal: () => OPEN, settle: async () => ({ verdict: 'ok', principal: OPEN }) }
  }
  const isUnnamed = keyChecker(keys.apiKeys)
  const isMaster = keyChecker(keys.masterKey ? [keys.masterKey] : [])
  const MASTER: Principal = Object.freeze({ kind: 'master' })

  const judgeToken = (digest: Buffer): Omit<Judgement, 'digests'> => {
    if (isMaster(digest)) return { verdict: 'ok', principal: MASTER }
    if (isUnnamed(digest)) return { verdict: 'ok', principal: UNNAMED }
    const found = keyring?.find(digest)
    if (!found) return { verdict: 'invalid', principal: undefined }
    if (found.record.revoked) return { verdict: 'revoked', principal: undefined }
    return { verdict: 'ok', principal: found.principal, adminKeyId: found.source === 'admin' ? found.record.id : undefined }
  }

  // The instrumentation asks first, the server's hook second: hash the presented key once.
  const judgements = new WeakMap<IncomingMessage, Judgement>()
  const judge = (request: IncomingMessage): Judgement => {
    if (PUBLIC_PATHS.has((request.url ?? '').split('?')[0] ?? '')) return PUBLIC
    // `Authorization: Bearer` (OpenAI SDKs, ANTHROPIC_AUTH_TOKEN) or `x-api-key` (what the
    // Anthropic SDKs and Claude Code send for ANTHROPIC_API_KEY). Older Anthropic SDKs
    // with both variables set send both: a gateway key in either lets the caller in.
    const tokens = [bearerToken(request.headers.authorization), apiKeyHeader(request.headers['x-api-key'])].filter(Boolean)
    if (tokens.length === 0) return { verdict: 'missing', principal: undefined, digests: [] }
    const digests = tokens.map(digestOf)
    const verdicts = digests.map(judgeToken)
    const chosen = verdicts.find((v) => v.verdict === 'ok') ?? verdicts.find((v) => v.verdict === 'revoked') ?? verdicts[0]!
    return { ...chosen, digests }
  }
  const judged = (request: IncomingMessage): Judgement => {
    let judgement = judgements.get(request)
    if (judgement === undefined) judgements.set(request, (judgement = judge(request)))
    return judgement
  }

  /** What the shared store says of a key this process knows, or does not know. Throws when unreachable. */
  const askRemote = async (judgement: Judgement): Promise<SettledAuth> => {
    const remote = keyring!.remote!
    if (judgement.adminKeyId !== undefined) {
      const record = await remote.byId(judgement.adminKeyId)
      if (record === undefined) return { verdict: 'invalid', principal: undefined }
      keyring!.putAdmin(record)
      return record.revoked ? { verdict: 'revoked', principal: undefined } : { verdict: 'ok', principal: judgement.principal }
    }
    let revoked = false
    for (const digest of judgement.digests) {
      const record = await remote.byDigest(digest.toString('hex'))
      if (record === undefined) continue
      const found = keyring!.putAdmin(record)
      if (!record.revoked) return { verdict: 'ok', principal: found.principal }
      revoked = true
    }
    return { verdict: revoked ? 'revoked' : 'invalid', principal: undefined }
  }

  return {
    enabled: true,
    check: (request) => judged(request).verdict,
    principal: (request) => {
      const judgement = judged(request)
      return judgement.verdict === 'ok' ? judgement.principal : undefined
    },
    settle: async (request) => {
      const judgement = judged(request)
      const settled = { verdict: judgement.verdict, principal: judgement.verdict === 'ok' ? judgement.principal : undefined }
      const asksRemote = keyring?.remote && (judgement.adminKeyId !== undefined || judgement.verdict === 'invalid')
      if (!asksRemote) return settled
      try {
        return await askRemote(judgement)
      } catch {
        // The store is unreachable (its outage is logged once, by the store): a key known here
        // keeps working as last known; a key unknown here is never let in.
        return judgement.verdict === 'ok' ? settled : { verdict: 'unavailable', principal: undefined }
      }
    },
  }
}

/** The answer to a request whose key was not let in (`missing`, `invalid`, `revoked`, `unavailable`). */
export function refusal(verdict: Exclude<SettledAuth['verdict'], 'ok'>): GatewayError {
  switch (verdict) {
    case 'missing':
      return new GatewayError('unauthorized', 'Missing gateway API key: send `Authorization: Bearer <key>` (or `x-api-key: <key>`).', { code: 'missing_api_key' })
    case 'revoked':
      return new GatewayError('unauthorized', 'This gateway API key was revoked.', { code: 'revoked_api_key' })
    case 'unavailable':
      return new GatewayError('unavailable', 'The gateway cannot check this key right now: its key store (Redis) is unreachable. Try again shortly.', {
        code: 'key_store_unavailable',
        headers: { 'retry-after': '1' },
      })
    default:
      return new GatewayError('unauthorized', 'Unknown gateway API key.', { code: 'invalid_api_key' })
  }
}
