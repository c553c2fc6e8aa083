// The limits engine against both of its stores (memory, and Debian's redis-server): requests and
// tokens per minute per key and per key and model, budgets per key and team per UTC day and month,
// the spend read back, atomic admission under concurrency (two Redis clients: two replicas), TTLs
// on every counter, and what a Redis outage does under both settings.
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { Limits } from '../../src/limits/limits.ts'
import { LIMITS_KEY_PREFIX, RedisLimitStore } from '../../src/limits/redis-store.ts'
import { MemoryLimitStore, type LimitStore } from '../../src/limits/store.ts'
import type { Principal } from '../../src/keys/principal.ts'
import { REDIS_MISSING, REDIS_SERVER, startRedis, type RedisServer } from '../support/redis.ts'

if (!REDIS_SERVER) {
  t.plan(0, REDIS_MISSING)
  process.exit(0)
}
t.setTimeout(120_000)

const quiet = { warn: () => {}, info: () => {} }
/** 10:00:00 UTC on 5 December 2026: the start of a minute. */
const START = Date.UTC(2026, 11, 5, 10, 0, 0)

let unique = 0
function key(fields: Partial<Principal>): Principal {
  unique++
  return { kind: 'named', id: `key_${unique}`, name: `k${unique}`, ...fields }
}
const spent = (input: number, output: number, costUsd: number) => ({ usage: { input, output, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: 0 }, costUsd })
const settled = () => new Promise((resolve) => setTimeout(resolve, 50))

const redis: RedisServer = await startRedis()
const stores: LimitStore[] = []
t.teardown(async () => {
  for (const store of stores) await store.close()
  await redis.close()
})

type Make = () => Promise<LimitStore>
const makers: Record<string, Make> = {
  memory: async () => new MemoryLimitStore(() => clock.now),
  redis: async () => {
    const store = new RedisLimitStore(redis.url, quiet)
    stores.push(store)
    await store.ready()
    return store
  },
}
const clock = { now: START }

for (const [name, make] of Object.entries(makers)) {
  t.test(`${name}: requests per minute, per key and per key and model`, async (t) => {
    clock.now = START + 1_000
    const limits = new Limits(await make(), 'serve', () => clock.now)
    const p = key({ limits: { requestsPerMinute: 3, models: { small: { requestsPerMinute: 1 } } } })
    const first = await limits.admit(p, 'small')
    t.ok(first.admitted, 'admitted')
    t.strictSame(first.quota.requests, { limit: 1, remaining: 0, resetsAt: START + 60_000 }, 'the tightest limit is reported: the model’s')
    const second = await limits.admit(p, 'small')
    t.notOk(second.admitted, 'the model’s 1 rpm is used up')
    t.match(!second.admitted && second.refusal, { kind: 'requests', scope: 'model', limit: 1, used: 1, resetsAt: START + 60_000 })
    t.ok((await limits.admit(p, 'big')).admitted, 'another model: only the key’s limit')
    const third = await limits.admit(p, 'big')
    t.strictSame(third.quota.requests, { limit: 3, remaining: 0, resetsAt: START + 60_000 })
    const fourth = await limits.admit(p, 'big')
    t.match(!fourth.admitted && fourth.refusal, { kind: 'requests', scope: 'key', limit: 3, used: 3 })
    t.strictSame(fourth.quota.requests?.remaining, 0)
    clock.now = START + 60_000
    const next = await limits.admit(p, 'small')
    t.ok(next.admitted, 'the next minute: counted afresh')
    t.equal(next.quota.requests?.resetsAt, START + 120_000)
  })

  t.test(`${name}: a model's limit counts each of its names in one counter; a later turn counts no request`, async (t) => {
    clock.now = START + 2_000
    // As models.ts names a model through the router: `p/small` and an alias `tiny` are `small`.
    const names = (model: string) => (['small', 'p/small', 'tiny'].includes(model) ? ['small', 'p/small', model] : [model])
    const limits = new Limits(await make(), 'serve', () => clock.now, names)
    const p = key({ limits: { models: { 'p/small': { requestsPerMinute: 2, tokensPerMinute: 100 } } }, budgets: { dailyUsd: 0.01 } })
    const first = await limits.admit(p, 'small')
    t.equal(first.quota.requests?.remaining, 1)
    t.ok(first.admitted && (await limits.admitTurn(p, 'small')).admitted, 'a later turn with budget and tokens left: admitted')
    const second = await limits.admit(p, 'tiny')
    t.equal(second.quota.requests?.remaining, 0, 'the later turn counted no request; the alias counted in the same one')
    t.notOk((await limits.admit(p, 'p/small')).admitted, 'the limit as configured: spent')
    t.ok((await limits.admit(p, 'big')).admitted, 'another model is not limited')
    if (second.admitted) second.onSettled?.(spent(100, 0, 0.01))
    await settled()
    const turn = await limits.admitTurn(p, 'small')
    t.match(!turn.admitted && turn.refusal, { kind: 'budget', owner: 'key' }, 'a spent budget refuses the next turn')
    const unserved = new Limits(await make(), 'serve', () => clock.now, () => {
      throw new Error('not served')
    })
    await t.rejects(unserved.admit(p, 'nosuchmodel'), /not served/, 'a model not served throws before anything is counted')
  })

  t.test(`${name}: tokens per minute, counted when calls settle`, async (t) => {
    clock.now = START + 1_000
    const limits = new Limits(await make(), 'serve', () => clock.now)
    const p = key({ limits: { tokensPerMinute: 100 } })
    const a = await limits.admit(p, 'm')
    t.ok(a.admitted)
    t.strictSame(a.quota.tokens, { limit: 100, remaining: 100, resetsAt: START + 60_000 })
    a.admitted && a.onSettled?.(spent(40, 30, 0))
    await settled()
    const b = await limits.admit(p, 'm')
    t.equal(b.quota.tokens?.remaining, 30, 'input and output tokens counted')
    b.admitted && b.onSettled?.(spent(20, 20, 0))
    await settled()
    const c = await limits.admit(p, 'm')
    t.notOk(c.admitted, 'refused: the minute’s tokens are used up')
    t.match(!c.admitted && c.refusal, { kind: 'tokens', scope: 'key', limit: 100, used: 110 })
    t.equal(c.quota.tokens?.remaining, 0)
  })

  t.test(`${name}: budgets per key and per team, per day and month; spend read back`, async (t) => {
    clock.now = START
    const store = await make()
    const limits = new Limits(store, 'serve', () => clock.now)
    const teamBudgets = { dailyUsd: 0.05 }
    const alice = key({ team: 'blue', budgets: { dailyUsd: 0.01, monthlyUsd: 1 }, teamBudgets })
    const bob = key({ team: 'blue', teamBudgets })
    for (let i = 0; i < 2; i++) {
      const d = await limits.admit(alice, 'm')
      t.ok(d.admitted, `alice's call ${i + 1} starts with budget left`)
      d.admitted && d.onSettled?.(spent(1, 1, 0.006))
    }
    await settled()
    const refused = await limits.admit(alice, 'm')
    t.notOk(refused.admitted, 'spent 0.012 of 0.01: refused')
    t.match(!refused.admitted && refused.refusal, { kind: 'budget', owner: 'key', period: 'daily', limitUsd: 0.01, resetsAt: Date.UTC(2026, 11, 6) })
    t.ok(!refused.admitted && Math.abs((refused.refusal as { spentUsd: number }).spentUsd - 0.012) < 1e-9)

    const spend = await limits.spendOf(alice)
    t.ok(Math.abs(spend.key.daily.usd - 0.012) < 1e-9 && Math.abs(spend.key.monthly.usd - 0.012) < 1e-9, 'the key’s spend, day and month')
    t.strictSame({ limit: spend.key.daily.limitUsd, resets: spend.key.daily.resetsAt }, { limit: 0.01, resets: '2026-12-06T00:00:00.000Z' })
    t.equal(spend.key.monthly.resetsAt, '2027-01-01T00:00:00.000Z')
    t.equal(spend.team?.name, 'blue')

    for (let i = 0; i < 4; i++) {
      const d = await limits.admit(bob, 'm')
      t.ok(d.admitted, `bob's call ${i + 1}`)
      d.admitted && d.onSettled?.(spent(1, 1, 0.01))
    }
    await settled()
    const team = await limits.admit(bob, 'm')
    t.match(!team.admitted && team.refusal, { kind: 'budget', owner: 'team', period: 'daily', limitUsd: 0.05 }, 'the team’s budget: every key’s spend together')
    t.ok(Math.abs((await limits.spendOf(bob)).team!.daily.usd - 0.052) < 1e-9)
    t.equal((await limits.spendOf(bob)).team!.daily.limitUsd, 0.05)

    clock.now = Date.UTC(2026, 11, 6, 0, 0, 1)
    t.ok((await limits.admit(alice, 'm')).admitted, 'the next UTC day: the daily budgets start again')
    t.ok(Math.abs((await limits.spendOf(alice)).key.monthly.usd - 0.012) < 1e-9, 'the month goes on')
  })

  t.test(`${name}: unnamed and open callers are not counted`, async (t) => {
    const limits = new Limits(await make(), 'serve', () => clock.now)
    const d = await limits.admit({ kind: 'unnamed' }, 'm')
    t.strictSame(d, { admitted: true, quota: {}, onSettled: undefined })
  })
}

t.test('redis: two replicas, 200 concurrent requests on a 60 rpm key: exactly 60 admitted', async (t) => {
  clock.now = START + 5_000
  const [one, two] = [new Limits(await makers.redis!(), 'serve', () => clock.now), new Limits(await makers.redis!(), 'serve', () => clock.now)]
  const p = key({ limits: { requestsPerMinute: 60 } })
  const decisions = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? one : two).admit(p, 'm')))
  t.equal(decisions.filter((d) => d.admitted).length, 60)
  const remaining = decisions.filter((d) => d.admitted).map((d) => d.quota.requests!.remaining).sort((a, b) => a - b)
  t.strictSame(remaining, Array.from({ length: 60 }, (_, i) => i), 'each admitted request took a different unit')
})

t.test('redis: every counter has a TTL to the end of its window (plus a margin)', async (t) => {
  clock.now = Date.now()
  const limits = new Limits(await makers.redis!(), 'serve', () => clock.now)
  const p = key({ team: 'ttl team', limits: { requestsPerMinute: 5, tokensPerMinute: 500, models: { 'a:b': { requestsPerMinute: 5, tokensPerMinute: 50 } } }, budgets: { dailyUsd: 1 } })
  const d = await limits.admit(p, 'a:b')
  d.admitted && d.onSettled?.(spent(3, 4, 0.5))
  await settled()
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const names = (await client.keys(`${LIMITS_KEY_PREFIX}*${encodeURIComponent(p.id!)}*`)).concat(await client.keys(`${LIMITS_KEY_PREFIX}*ttl%20team*`))
  t.equal(names.length, 8, `rpm and tpm, key and model; USD of key and team, day and month: ${names.join(', ')}`)
  for (const name of names) {
    const ttl = await client.pttl(name)
    const limit = name.includes(':rpm:') || name.includes(':tpm:') ? 120_000 : 32 * 86_400_000
    t.ok(ttl > 0 && ttl <= limit, `${name.slice(LIMITS_KEY_PREFIX.length)} expires (${ttl} ms)`)
  }
})

async function outage(t: Test, setting: 'serve' | 'refuse') {
  const logged: string[] = []
  const store = new RedisLimitStore(redis.url, { warn: (_: unknown, msg: string) => logged.push(msg), info: (msg: string) => logged.push(msg) } as never)
  stores.push(store)
  await store.ready()
  const limits = new Limits(store, setting, () => clock.now)
  const p = key({ limits: { requestsPerMinute: 1000 } })
  t.ok((await limits.admit(p, 'm')).admitted, 'Redis up: admitted')
  await redis.stop()
  const during = await Promise.all(Array.from({ length: 5 }, () => limits.admit(p, 'm')))
  if (setting === 'serve') t.ok(during.every((d) => d.admitted && Object.keys(d.quota).length === 0), 'served, unchecked (no headers)')
  else t.ok(during.every((d) => !d.admitted && d.refusal.kind === 'store'), 'refused: the store is unreachable')
  t.equal(logged.filter((msg) => msg.startsWith('limits: Redis is unreachable')).length, 1, 'the outage logged once')
  await redis.restart()
  const until = Date.now() + 15_000
  let back = await limits.admit(p, 'm')
  while (Object.keys(back.quota).length === 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    back = await limits.admit(p, 'm')
  }
  t.ok(back.admitted && back.quota.requests !== undefined, 'Redis back: checked again')
  t.equal(logged.filter((msg) => msg === 'limits: Redis is reachable again').length, 1, 'the recovery logged once')
}

t.test('redis stopped, GATEWAY_LIMITS_ON_REDIS_ERROR=serve', (t) => outage(t, 'serve'))
t.test('redis stopped, GATEWAY_LIMITS_ON_REDIS_ERROR=refuse', (t) => outage(t, 'refuse'))
