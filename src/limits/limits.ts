// Rate limits and budgets of named keys: whether a request may start, and counting what each of
// its calls used. A request is admitted or refused in one atomic store step (store.ts): its
// budgets (key and team, day and month), then its tokens per minute, then its requests per minute
// (the key's, and the key's on this model), all read together; only when none is full is the
// request counted. Tokens and spend are counted when each call settles (an agent run's turns one
// by one): a call that starts with budget left may overshoot it, by at most what the calls
// already in flight use, which is the price of not holding a reservation per call. An agent run
// asks again before each of its turns after the first (admitTurn): budgets and tokens, no request.
// A per-model limit counts the model however it is named (models.ts), under the limit's own name.
import type { Spent } from '../core/types.ts'
import type { Principal, RateLimits } from '../keys/principal.ts'
import { countLimitsLapse } from '../telemetry/limit-lapses.ts'
import type { ModelNames } from './models.ts'
import { dayOf, minuteOf, monthOf, type Period } from './periods.ts'
import type { Amount, Gate, LimitStore } from './store.ts'

/** Where a caller stands on one kind of rate limit: the tightest of the key's and the model's. */
export interface Standing {
  limit: number
  remaining: number
  resetsAt: number
}

/** What the rate-limit headers say; a kind the key has no limit for is absent. */
export interface Quota {
  requests?: Standing | undefined
  tokens?: Standing | undefined
}

export type Refusal =
  | { kind: 'requests' | 'tokens'; scope: 'key' | 'model'; limit: number; used: number; resetsAt: number }
  | { kind: 'budget'; owner: 'key' | 'team'; period: 'daily' | 'monthly'; limitUsd: number; spentUsd: number; resetsAt: number }
  /** The store failed and GATEWAY_LIMITS_ON_REDIS_ERROR is `refuse`. */
  | { kind: 'store' }

export type Decision =
  | { admitted: true; quota: Quota; onSettled: ((spent: Spent) => void) | undefined }
  | { admitted: false; quota: Quota; refusal: Refusal }

export interface PeriodSpend {
  usd: number
  /** The budget for this period, null when there is none. */
  limitUsd: number | null
  /** When the period ends and the count starts again (ISO 8601, UTC). */
  resetsAt: string
}

/** A key's spend so far, and its team's (every key of the team together). */
export interface Spend {
  key: { id: string; name: string | undefined; daily: PeriodSpend; monthly: PeriodSpend }
  team: { name: string; daily: PeriodSpend; monthly: PeriodSpend } | null
}

type GateOf = Exclude<Refusal, { kind: 'store' }>['kind']
interface Described extends Gate {
  refusal: Refusal
}

/** A per-model limit of the key that applies to the model asked for, by the name it is configured under. */
interface OnModel {
  name: string
  limits: RateLimits
}

const part = (name: string) => encodeURIComponent(name)

/** The counters' names (the store adds its prefix). Model and team names are escaped: `:` cannot mix two up. */
const counter = {
  requests: (id: string, model: string | undefined, minute: Period) => `rpm:${part(id)}:${model === undefined ? '' : `m:${part(model)}:`}${minute.id}`,
  tokens: (id: string, model: string | undefined, minute: Period) => `tpm:${part(id)}:${model === undefined ? '' : `m:${part(model)}:`}${minute.id}`,
  spend: (owner: 'key' | 'team', name: string, period: Period) => `usd:${owner}:${part(name)}:${period.id}`,
}

export class Limits {
  readonly store: LimitStore
  private readonly onStoreError: 'serve' | 'refuse'
  private readonly now: () => number
  private readonly names: ModelNames

  constructor(store: LimitStore, onStoreError: 'serve' | 'refuse', now: () => number = Date.now, names: ModelNames = (model) => [model]) {
    this.store = store
    this.onStoreError = onStoreError
    this.now = now
    this.names = names
  }

  /**
   * Admits or refuses a request of `principal` on `model` (as the caller names it). Only named
   * keys are counted: an unnamed key (GATEWAY_API_KEYS) or an open gateway has nothing to limit.
   * Throws the 4xx of a model not served, before anything is counted.
   */
  async admit(principal: Principal, model: string): Promise<Decision> {
    return this.decide(principal, model, 'request')
  }

  /**
   * Whether one more model call of an admitted request (an agent run's next turn) may start: the
   * budgets and tokens per minute as at admission, without counting a request.
   */
  async admitTurn(principal: Principal, model: string): Promise<Decision> {
    return this.decide(principal, model, 'turn')
  }

  private async decide(principal: Principal, model: string, what: 'request' | 'turn'): Promise<Decision> {
    const id = principal.id
    if (id === undefined) return { admitted: true, quota: {}, onSettled: undefined }
    const onModels = this.onModels(principal, model)
    const now = this.now()
    const all = this.gates(id, principal, onModels, now)
    const gates = what === 'request' ? all : all.filter((gate) => gate.refusal.kind !== 'requests')
    const onSettled = (spent: Spent) => void this.settle(id, principal, onModels, spent)
    if (gates.length === 0) return { admitted: true, quota: {}, onSettled }
    let admission
    try {
      admission = await this.store.admit(gates)
    } catch {
      // The store logged the outage (once); each call it lets through unchecked is counted.
      if (this.onStoreError === 'refuse') {
        countLimitsLapse('admit', 'refused')
        return { admitted: false, quota: {}, refusal: { kind: 'store' } }
      }
      countLimitsLapse('admit', 'served')
      return { admitted: true, quota: {}, onSettled }
    }
    const admitted = admission.refused < 0
    const quota = quotaOf(gates, admission.values, admitted)
    if (admitted) return { admitted, quota, onSettled }
    const gate = gates[admission.refused]!
    const used = admission.values[admission.refused]!
    const refusal = gate.refusal.kind === 'budget' ? { ...gate.refusal, spentUsd: used } : { ...gate.refusal, used }
    return { admitted, quota, refusal: refusal as Refusal }
  }

  /** A named key's spend this UTC day and month, and its team's; read from the store (shared by every replica with Redis). */
  async spendOf(principal: Principal): Promise<Spend> {
    const id = principal.id
    if (id === undefined) throw new Error('spendOf: only a named key (with an id) has a spend')
    const now = this.now()
    const [day, month] = [dayOf(now), monthOf(now)]
    const team = principal.team
    const keys = [counter.spend('key', id, day), counter.spend('key', id, month)]
    if (team !== undefined) keys.push(counter.spend('team', team, day), counter.spend('team', team, month))
    const values = await this.store.read(keys)
    const period = (usd: number, limitUsd: number | undefined, p: Period): PeriodSpend => ({
      usd,
      limitUsd: limitUsd ?? null,
      resetsAt: new Date(p.resetsAt).toISOString(),
    })
    return {
      key: {
        id,
        name: principal.name,
        daily: period(values[0]!, principal.budgets?.dailyUsd, day),
        monthly: period(values[1]!, principal.budgets?.monthlyUsd, month),
      },
      team:
        team === undefined
          ? null
          : { name: team, daily: period(values[2]!, principal.teamBudgets?.dailyUsd, day), monthly: period(values[3]!, principal.teamBudgets?.monthlyUsd, month) },
    }
  }

  async close(): Promise<void> {
    await this.store.close()
  }

  /** The key's per-model limits on any of the model's names (the model resolved: a 4xx for one not served). */
  private onModels(principal: Principal, model: string): OnModel[] {
    const names = new Set(this.names(model))
    return Object.entries(principal.limits?.models ?? {})
      .filter(([name]) => names.has(name))
      .map(([name, limits]) => ({ name, limits }))
  }

  /** Budgets first (the refusal that lasts longest), then tokens, then requests, which alone are counted at admission. */
  private gates(id: string, principal: Principal, onModels: OnModel[], now: number): Described[] {
    const gates: Described[] = []
    const [minute, day, month] = [minuteOf(now), dayOf(now), monthOf(now)]
    const budget = (owner: 'key' | 'team', name: string, period: 'daily' | 'monthly', p: Period, limitUsd: number | undefined) => {
      if (limitUsd === undefined) return
      const refusal: Refusal = { kind: 'budget', owner, period, limitUsd, spentUsd: 0, resetsAt: p.resetsAt }
      gates.push({ key: counter.spend(owner, name, p), limit: limitUsd, increment: 0, ttlMs: p.ttlMs, refusal })
    }
    budget('key', id, 'daily', day, principal.budgets?.dailyUsd)
    budget('key', id, 'monthly', month, principal.budgets?.monthlyUsd)
    if (principal.team !== undefined) {
      budget('team', principal.team, 'daily', day, principal.teamBudgets?.dailyUsd)
      budget('team', principal.team, 'monthly', month, principal.teamBudgets?.monthlyUsd)
    }
    const rate = (kind: GateOf & ('requests' | 'tokens'), limits: RateLimits | undefined, model?: string) => {
      const limit = kind === 'requests' ? limits?.requestsPerMinute : limits?.tokensPerMinute
      if (limit === undefined) return
      const key = counter[kind](id, model, minute)
      const refusal: Refusal = { kind, scope: model === undefined ? 'key' : 'model', limit, used: 0, resetsAt: minute.resetsAt }
      gates.push({ key, limit, increment: kind === 'requests' ? 1 : 0, ttlMs: minute.ttlMs, refusal })
    }
    for (const kind of ['tokens', 'requests'] as const) {
      rate(kind, principal.limits)
      for (const onModel of onModels) rate(kind, onModel.limits, onModel.name)
    }
    return gates
  }

  /** Adds what one call used: tokens to the minute it ended in, USD to the day and month. */
  private async settle(id: string, principal: Principal, onModels: OnModel[], spent: Spent): Promise<void> {
    const now = this.now()
    const [minute, day, month] = [minuteOf(now), dayOf(now), monthOf(now)]
    const amounts: Amount[] = []
    const tokens = (spent.usage?.input ?? 0) + (spent.usage?.output ?? 0)
    if (tokens > 0) {
      if (principal.limits?.tokensPerMinute !== undefined) amounts.push({ key: counter.tokens(id, undefined, minute), amount: tokens, ttlMs: minute.ttlMs })
      for (const { name, limits } of onModels) {
        if (limits.tokensPerMinute !== undefined) amounts.push({ key: counter.tokens(id, name, minute), amount: tokens, ttlMs: minute.ttlMs })
      }
    }
    const usd = spent.costUsd ?? 0
    if (usd > 0) {
      amounts.push({ key: counter.spend('key', id, day), amount: usd, ttlMs: day.ttlMs }, { key: counter.spend('key', id, month), amount: usd, ttlMs: month.ttlMs })
      if (principal.team !== undefined) {
        amounts.push({ key: counter.spend('team', principal.team, day), amount: usd, ttlMs: day.ttlMs })
        amounts.push({ key: counter.spend('team', principal.team, month), amount: usd, ttlMs: month.ttlMs })
      }
    }
    if (amounts.length === 0) return
    try {
      await this.store.add(amounts)
    } catch {
      countLimitsLapse('settle', 'served')
    }
  }
}

/** The tightest of each kind (least remaining); a request counted at admission is out of what remains. */
function quotaOf(gates: Described[], values: number[], admitted: boolean): Quota {
  const quota: Quota = {}
  gates.forEach((gate, i) => {
    const kind = gate.refusal.kind
    if (kind !== 'requests' && kind !== 'tokens') return
    const used = values[i]! + (admitted ? gate.increment : 0)
    const standing = { limit: gate.limit, remaining: Math.max(0, Math.floor(gate.limit - used)), resetsAt: (gate.refusal as { resetsAt: number }).resetsAt }
    const before = quota[kind]
    if (before === undefined || standing.remaining <= before.remaining) quota[kind] = standing
  })
  return quota
}
