// Who is calling: the gateway key a request presented, as the gateway knows it. Never the secret:
// a principal goes into spans, metrics, logs and the stores, so it holds only the key's id, name,
// team and what the key may do. The authenticator (src/auth.ts) resolves it once per request.

/** Requests and tokens per minute; absent: no limit. */
export interface RateLimits {
  requestsPerMinute?: number | undefined
  tokensPerMinute?: number | undefined
}

/** A key's rate limits, overall and per model (the model as callers name it). */
export interface KeyLimits extends RateLimits {
  models?: Record<string, RateLimits> | undefined
}

/** Spend limits in USD per UTC day and calendar month; absent: no limit. */
export interface Budgets {
  dailyUsd?: number | undefined
  monthlyUsd?: number | undefined
}

export interface Principal {
  /**
   * `named`: a key with a name (the keys file, the admin API). `unnamed`: one of GATEWAY_API_KEYS.
   * `master`: GATEWAY_MASTER_KEY (the admin API). `open`: no key is configured at all.
   */
  kind: 'named' | 'unnamed' | 'master' | 'open'
  /** A named key's stable id (`key_…`): the admin API's and the stores' handle, not a secret. */
  id?: string | undefined
  name?: string | undefined
  team?: string | undefined
  metadata?: Record<string, string> | undefined
  /** The models (as callers name them: a model, an alias, a route group) the key may call; absent: any. */
  models?: readonly string[] | undefined
  limits?: KeyLimits | undefined
  budgets?: Budgets | undefined
  /** The budgets of the key's team (shared by every key of the team). */
  teamBudgets?: Budgets | undefined
}

/** Every caller when no key is configured (loopback only). */
export const OPEN: Principal = Object.freeze({ kind: 'open' })
/** A caller that presented one of GATEWAY_API_KEYS: let in, with no name. */
export const UNNAMED: Principal = Object.freeze({ kind: 'unnamed' })
