// A route group: one public model name served by several targets (GATEWAY_CONFIG `routes`), each a
// provider and an upstream model. The group decides the order one call tries them in; the dispatch
// walks that order (src/core/dispatch.ts). `fallback` keeps the listed order; `loadbalance` puts
// first one target picked by weight among those not cooling down, then the rest in listed order.
// Targets marked `contextFallback` serve only calls an earlier target refused for their length.
import type { RouteGroupConfig } from '../../config.ts'
import type { Route } from '../router.ts'
import { Breaker, type BreakerSnapshot } from './breaker.ts'

export interface Target {
  route: Route
  weight: number
  contextFallback: boolean
  /** The target's health within its group; absent for a plain model (no group, nothing to skip to). */
  breaker?: Breaker | undefined
}

export interface TargetStatus extends BreakerSnapshot {
  provider: string
  model: string
  weight: number
  contextFallback: boolean
}

export class RouteGroup {
  readonly name: string
  readonly config: RouteGroupConfig
  readonly targets: readonly Target[]

  constructor(name: string, config: RouteGroupConfig, routes: Route[], now: () => number = Date.now) {
    this.name = name
    this.config = config
    this.targets = config.targets.map((target, index) => ({
      route: routes[index]!,
      weight: target.weight,
      contextFallback: target.contextFallback,
      breaker: new Breaker(config.cooldown, now),
    }))
  }

  /** Most upstream attempts of one call. */
  get maxAttempts(): number {
    return this.config.maxAttempts ?? this.targets.length * (1 + this.config.retries)
  }

  /** The order one call tries the targets in. `random` in [0, 1) picks a loadbalance group's first. */
  order(random: () => number = Math.random): readonly Target[] {
    if (this.config.strategy === 'fallback' || this.targets.length === 1) return this.targets
    const candidates = this.targets.filter((t) => !t.contextFallback && t.breaker?.available() !== false)
    // Every target cooling down: the listed order, each skipped in turn (the call's 503 says when to retry).
    if (candidates.length === 0) return this.targets
    const weight = candidates.reduce((sum, t) => sum + t.weight, 0)
    let point = random() * weight
    let first = candidates[candidates.length - 1]!
    for (const candidate of candidates) {
      point -= candidate.weight
      if (point < 0) {
        first = candidate
        break
      }
    }
    return [first, ...this.targets.filter((t) => t !== first)]
  }

  status(): TargetStatus[] {
    return this.targets.map((t) => ({
      provider: t.route.adapter.name,
      model: t.route.model,
      weight: t.weight,
      contextFallback: t.contextFallback,
      ...t.breaker!.snapshot(),
    }))
  }
}
