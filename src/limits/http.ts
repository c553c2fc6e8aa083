// Limits over HTTP: one preHandler for every model route admits or refuses a request before any
// upstream call, and tells the dispatch (request.onSettled) to count what each call used. Answers
// carry the rate-limit headers as OpenAI sends them (`x-ratelimit-*`), or Anthropic's
// (`anthropic-ratelimit-*`) on /v1/messages; set on the reply here, so a streamed answer (the
// routes hijack the reply for SSE, keeping the headers already set) carries them too. The model
// is resolved before anything is counted: a model not served is its 404 and uses up nothing. An
// agent run checks its budgets again before each turn after the first (request.admitTurn).
// /v1/messages/count_tokens is not limited: it costs nothing and Anthropic limits it apart.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.ts'
import type { Decision, Limits, Quota, Refusal } from './limits.ts'
import { openAiDuration, retryAfterSeconds } from './periods.ts'

/** The routes whose requests call models. */
export const LIMITED_ROUTES: ReadonlySet<string> = new Set([
  '/v1/chat/completions',
  '/v1/responses',
  '/v1/messages',
  '/v1/embeddings',
  '/v1/agents/reasoning',
])

/** Whose header names: the Messages API's (`anthropic-ratelimit-*`) or every other route's (`x-ratelimit-*`). */
type Shape = 'messages' | 'default'

/** RFC 3339 in whole seconds, as Anthropic writes its reset times. */
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** The rate-limit headers of an answer, for the kinds the key has a limit of. */
export function quotaHeaders(quota: Quota, shape: Shape, now: number): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const kind of ['requests', 'tokens'] as const) {
    const standing = quota[kind]
    if (!standing) continue
    if (shape === 'messages') {
      headers[`anthropic-ratelimit-${kind}-limit`] = String(standing.limit)
      headers[`anthropic-ratelimit-${kind}-remaining`] = String(standing.remaining)
      headers[`anthropic-ratelimit-${kind}-reset`] = rfc3339(standing.resetsAt)
    } else {
      headers[`x-ratelimit-limit-${kind}`] = String(standing.limit)
      headers[`x-ratelimit-remaining-${kind}`] = String(standing.remaining)
      headers[`x-ratelimit-reset-${kind}`] = openAiDuration(standing.resetsAt - now)
    }
  }
  return headers
}

const usd = (value: number) => `$${Number(value.toPrecision(6))}`

/** The answer to a refused request: a 429 saying which limit and when it resets, or the store's 503. */
export function refusalError(refusal: Refusal, who: string, model: string, now: number): GatewayError {
  switch (refusal.kind) {
    case 'store':
      return new GatewayError(
        'unavailable',
        'Rate limits and budgets cannot be checked: their store (Redis) is unreachable, and the gateway is set to refuse calls meanwhile (GATEWAY_LIMITS_ON_REDIS_ERROR=refuse).',
        { code: 'limits_unavailable', headers: { 'retry-after': '1' } },
      )
    case 'budget': {
      const owner = refusal.owner === 'key' ? `key ${who}` : 'team of key ' + who
      // Retrying soon is pointless: the SDKs read x-should-retry and give up at once.
      return new GatewayError(
        'quota_exceeded',
        `The ${refusal.period} budget of the ${owner} (${usd(refusal.limitUsd)}) is spent (${usd(refusal.spentUsd)} used); it resets at ${new Date(refusal.resetsAt).toISOString()}.`,
        { code: 'insufficient_quota', headers: { 'x-should-retry': 'false' } },
      )
    }
    default: {
      const wait = refusal.resetsAt - now
      const scope = refusal.scope === 'model' ? ` on model ${JSON.stringify(model)}` : ''
      const per = refusal.kind === 'requests' ? 'requests per minute (RPM)' : 'tokens per minute (TPM)'
      return new GatewayError(
        'rate_limited',
        `Rate limit reached for key ${who}${scope} on ${per}: Limit ${refusal.limit}, Used ${refusal.used}. Please try again in ${openAiDuration(wait)}.`,
        { code: 'rate_limit_exceeded', headers: { 'retry-after': retryAfterSeconds(wait) } },
      )
    }
  }
}

/** The preHandler of the model routes (a hook on every route, acting on LIMITED_ROUTES only). */
export function limitsPreHandler(limits: Limits, now: () => number = Date.now) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.method !== 'POST' || !LIMITED_ROUTES.has(request.routeOptions.url ?? '')) return
    const principal = request.principal
    if (principal === undefined) return
    const asked = (request.body as { model?: unknown } | null | undefined)?.model
    const model = typeof asked === 'string' ? asked : ''
    const decision: Decision = await limits.admit(principal, model)
    const shape: Shape = request.routeOptions.config?.errorShape === 'messages' ? 'messages' : 'default'
    const at = now()
    const who = JSON.stringify(principal.name ?? principal.id)
    reply.headers(quotaHeaders(decision.quota, shape, at))
    if (!decision.admitted) throw refusalError(decision.refusal, who, model, at)
    request.onSettled = decision.onSettled
    // A run admitted with a cent left must not make fifty more paid turns: each asks again.
    request.admitTurn = async () => {
      const turn = await limits.admitTurn(principal, model)
      if (!turn.admitted) throw refusalError(turn.refusal, who, model, now())
    }
  }
}
