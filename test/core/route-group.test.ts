// RouteGroup.order: the order one call tries a group's targets in. `fallback` keeps the listed
// order; `loadbalance` picks the first by weight (the random number is injected, so the split is
// exact here; test/routing/loadbalance.test.ts measures it over HTTP) among the targets not
// cooling down and never a contextFallback one, then the rest in listed order.
import t from 'tap'
import type { RouteGroupConfig } from '../../src/config.ts'
import type { Route } from '../../src/core/router.ts'
import type { ProviderAdapter } from '../../src/core/types.ts'
import { RouteGroup, type Target } from '../../src/core/routing/group.ts'

type Spec = { provider: string; weight?: number; contextFallback?: boolean }

function group(strategy: 'fallback' | 'loadbalance', specs: Spec[], cooldown = { failures: 1, windowMs: 1000, cooldownMs: 60_000 }, now?: () => number): RouteGroup {
  const config: RouteGroupConfig = {
    strategy,
    targets: specs.map((s) => ({ provider: s.provider, model: 'm', weight: s.weight ?? 1, contextFallback: s.contextFallback ?? false })),
    retries: 0,
    cooldown,
  }
  const routes: Route[] = specs.map((s) => ({ adapter: { name: s.provider } as ProviderAdapter, model: 'm', requested: 'g', listed: true }))
  return new RouteGroup('g', config, routes, now)
}

const names = (targets: readonly Target[]) => targets.map((target) => target.route.adapter.name)
const fixed = (value: number) => () => value

/** Cools a target down the way the dispatch would: its one allowed failure. */
function coolDown(target: Target): void {
  target.breaker!.acquire()
  target.breaker!.failed()
}

t.test('fallback: the listed order, whatever the random number', async (t) => {
  const g = group('fallback', [{ provider: 'a', weight: 1 }, { provider: 'b', weight: 100 }])
  t.same(names(g.order(fixed(0.99))), ['a', 'b'])
})

t.test('loadbalance: the random number picks by weight, the rest follow in listed order', async (t) => {
  const g = group('loadbalance', [{ provider: 'a', weight: 1 }, { provider: 'b', weight: 2 }, { provider: 'c', weight: 3 }])
  // Total weight 6: [0, 1/6) → a, [1/6, 3/6) → b, [3/6, 1) → c.
  t.same(names(g.order(fixed(0))), ['a', 'b', 'c'])
  t.same(names(g.order(fixed(0.1666))), ['a', 'b', 'c'])
  t.same(names(g.order(fixed(1 / 6))), ['b', 'a', 'c'])
  t.same(names(g.order(fixed(0.4999))), ['b', 'a', 'c'])
  t.same(names(g.order(fixed(0.5))), ['c', 'a', 'b'])
  t.same(names(g.order(fixed(0.999999))), ['c', 'a', 'b'])
})

t.test('loadbalance: over evenly spread random numbers the split is the weights exactly', async (t) => {
  const g = group('loadbalance', [{ provider: 'a', weight: 0.5 }, { provider: 'b', weight: 1.5 }, { provider: 'c', weight: 3 }])
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 }
  const n = 10_000
  for (let i = 0; i < n; i++) counts[names(g.order(fixed(i / n)))[0]!]!++
  t.same(counts, { a: 1000, b: 3000, c: 6000 })
})

t.test('loadbalance: a target cooling down is not picked; its weight goes to the others', async (t) => {
  const g = group('loadbalance', [{ provider: 'a', weight: 1 }, { provider: 'b', weight: 1 }, { provider: 'c', weight: 2 }])
  coolDown(g.targets[2]!)
  t.same(names(g.order(fixed(0.49))), ['a', 'b', 'c'], 'a and b share the whole range')
  t.same(names(g.order(fixed(0.5))), ['b', 'a', 'c'])
  t.same(names(g.order(fixed(0.999))), ['b', 'a', 'c'], 'c is never first (the dispatch skips it in its turn)')
})

t.test('loadbalance: every target cooling down leaves the listed order (each is skipped, the call gets a 503)', async (t) => {
  const g = group('loadbalance', [{ provider: 'a' }, { provider: 'b' }])
  for (const target of g.targets) coolDown(target)
  t.same(names(g.order(fixed(0.9))), ['a', 'b'])
})

t.test('loadbalance: a contextFallback target is never picked first, whatever its weight', async (t) => {
  const g = group('loadbalance', [{ provider: 'big', weight: 100, contextFallback: true }, { provider: 'a' }, { provider: 'b' }])
  for (const r of [0, 0.3, 0.6, 0.99]) t.not(names(g.order(fixed(r)))[0], 'big', `random ${r}`)
  t.same(names(g.order(fixed(0.6))), ['b', 'big', 'a'], 'it keeps its listed place among the rest')
})

t.test('a half-open target with its probe out is not picked; without it, it may be', async (t) => {
  let now = 0
  const g = group('loadbalance', [{ provider: 'a' }, { provider: 'b' }], { failures: 1, windowMs: 1000, cooldownMs: 100 }, () => now)
  coolDown(g.targets[0]!)
  now += 100
  t.equal(g.targets[0]!.breaker!.state(), 'half_open')
  t.same(names(g.order(fixed(0))), ['a', 'b'], 'half-open: the next call may probe it')
  t.ok(g.targets[0]!.breaker!.acquire(), 'a call takes the probe')
  t.same(names(g.order(fixed(0))), ['b', 'a'], 'the probe is out: the others are picked')
})

t.test('maxAttempts: one per target and retry by default, or as configured', async (t) => {
  const g = group('fallback', [{ provider: 'a' }, { provider: 'b' }])
  t.equal(g.maxAttempts, 2)
  t.equal(new RouteGroup('g', { ...g.config, retries: 2 }, g.targets.map((x) => x.route)).maxAttempts, 6)
  t.equal(new RouteGroup('g', { ...g.config, maxAttempts: 5 }, g.targets.map((x) => x.route)).maxAttempts, 5)
})

t.test('status: each target with its weight and health', async (t) => {
  const g = group('loadbalance', [{ provider: 'a', weight: 3 }, { provider: 'b', contextFallback: true }])
  coolDown(g.targets[0]!)
  const [a, b] = g.status()
  t.match(a, { provider: 'a', model: 'm', weight: 3, contextFallback: false, state: 'open', cooldownUntil: Number })
  t.match(b, { provider: 'b', weight: 1, contextFallback: true, state: 'closed', cooldownUntil: undefined })
})
