// Weighted load balancing over HTTP: a `loadbalance` group spreads its calls by weight (read both
// from the `x-gateway-target` header and from each target's emulator log), and a call whose
// picked target fails goes on through the others in listed order.
import t from 'tap'
import { FAILING_REPLY, MODEL, OK_REPLY, PROVIDERS, received, startTargets, type ProviderName } from './targets-setup.ts'

t.setTimeout(300_000)

/** Failing targets are never cooled down here: every call sees the target it picked. */
const NO_COOLDOWN = { failures: 1000, windowMs: 60_000, cooldownMs: 1000 }
const WEIGHTS: Record<ProviderName, number> = { east: 1, west: 2, north: 3 }

const stack = await startTargets(t, {
  spread: { strategy: 'loadbalance', targets: PROVIDERS.map((provider) => ({ provider, model: MODEL, weight: WEIGHTS[provider] })), cooldown: NO_COOLDOWN },
  chain: { strategy: 'loadbalance', targets: PROVIDERS.map((provider) => ({ provider, model: MODEL })), cooldown: NO_COOLDOWN },
})
const { upstreams, chat } = stack
t.beforeEach(() => {
  for (const upstream of Object.values(upstreams)) upstream.reset()
})

t.test('3,000 calls split within 4 percentage points of the weights 1:2:3', async (t) => {
  for (const upstream of Object.values(upstreams)) upstream.setDefault(OK_REPLY)
  const N = 3000
  const started = Date.now()
  const served: Record<string, number> = {}
  let next = 0
  // 16 callers at a time: the split must not depend on calls being one after another.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < N) {
        next++
        const { status, target } = await chat('spread')
        if (status !== 200) throw new Error(`status ${status}`)
        served[target!] = (served[target!] ?? 0) + 1
      }
    }),
  )
  t.comment(`${N} calls in ${Date.now() - started} ms`)
  const logs = received(upstreams)
  t.equal(Object.values(logs).reduce((a, b) => a + b, 0), N, 'one upstream request per call: nothing failed, nothing retried')
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0)
  for (const provider of PROVIDERS) {
    t.equal(served[`${provider}/${MODEL}`], logs[provider], `${provider}: x-gateway-target agrees with its emulator's log`)
    // A binomial count: p = weight / 6, σ = √(N p (1-p)) = 20.4, 25.8, 27.4 calls, i.e. 0.68,
    // 0.86, 0.91 points of the share. The 4-point bound is 5.9σ, 4.6σ and 4.4σ: together the
    // three fail by chance about once in 65,000 runs. Any real error of the picker (uniform,
    // first-listed, the weights ignored or misread) is 8 points off or more.
    const share = logs[provider] / N
    const expected = WEIGHTS[provider] / total
    t.ok(Math.abs(share - expected) <= 0.04, `${provider}: ${(share * 100).toFixed(1)}% of the calls, weight share ${(expected * 100).toFixed(1)}%`)
  }
})

t.test('when the picked target fails, the others are tried in listed order', async (t) => {
  upstreams.east.setDefault(FAILING_REPLY)
  upstreams.west.setDefault(FAILING_REPLY)
  upstreams.north.setDefault(OK_REPLY)
  // Picked north: north. Picked east: east, then west (listed order), then north.
  // Picked west: west, then east (listed order, not north first), then north.
  const expected = [['north'], ['east', 'west', 'north'], ['west', 'east', 'north']].map((s) => s.join(' → '))
  const seen = new Set<string>()
  for (let i = 0; i < 40; i++) {
    const before = received(upstreams)
    const { status, target } = await chat('chain')
    t.equal(status, 200)
    t.equal(target, `north/${MODEL}`)
    const tried = PROVIDERS.flatMap((p) => upstreams[p].requests.slice(before[p]).map((r) => ({ p, at: r.receivedAt })))
      .sort((a, b) => a.at - b.at)
      .map((x) => x.p)
      .join(' → ')
    t.ok(expected.includes(tried), `tried ${tried}`)
    seen.add(tried)
  }
  // 40 calls, each picking among 3 at random: each order is met but once in ~10^7 runs.
  t.equal(seen.size, 3, `each pick met: ${[...seen].join(', ')}`)
})
