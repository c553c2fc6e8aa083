// Issue 14, "limits and budgets that hold across replicas": two gateway processes on one Redis
// (Debian's redis-server), load spread across both. A 60 rpm key is admitted 60 times in a
// minute in total, not 60 per replica; a $0.01 daily budget is overshot by at most the calls
// already in flight when it ran out, and the spend read from either replica's admin API is the
// same (and what the answers said they cost).
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashOf } from '../../src/keys/hash.ts'
import { startGateway } from '../support/gateway.ts'
import { REDIS_MISSING, REDIS_SERVER, startRedis } from '../support/redis.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { ask, awayFromMinuteEdge, type Answer } from './helpers.ts'

if (!REDIS_SERVER) {
  t.plan(0, REDIS_MISSING)
  process.exit(0)
}
t.setTimeout(240_000)

const MASTER = 'master-key-limits-replicas-8b1d3f5a7c9e'
const RPM = 'sk-gw-limits-rpm-3c5e7a9b1d2f'
const BUDGET = 'sk-gw-limits-budget-6a8c0e2b4d1f'
const BUDGET_USD = 0.01
/** Workers calling at once, half on each replica: the most calls that can be in flight. */
const WORKERS = 8

const dir = mkdtempSync(join(tmpdir(), 'gateway-limits-replicas-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(
  keysFile,
  JSON.stringify({
    keys: [
      { id: 'key_rpm', name: 'rpm', hash: hashOf(RPM), limits: { requestsPerMinute: 60 } },
      { id: 'key_budget', name: 'budget', team: 'green', hash: hashOf(BUDGET), budgets: { dailyUsd: BUDGET_USD } },
    ],
  }),
)
// A price that makes each call of the emulator's answer (15 input, 19 output tokens) cost $0.0034.
const configFile = join(dir, 'gateway.json')
writeFileSync(configFile, JSON.stringify({ prices: { 'gpt-4o-mini': { input: 100, output: 100 } } }))

const redis = await startRedis()
const upstream = await startUpstream()
// Slow enough answers that many calls are in flight at once when the budget runs out.
upstream.setDefault({ fixture: 'openai-chat-text-nonstream', delayMs: 150 })
const env = { GATEWAY_KEYS_FILE: keysFile, GATEWAY_CONFIG: configFile, GATEWAY_MASTER_KEY: MASTER, REDIS_URL: redis.url, HOST: '127.0.0.1', ...providerEnv(upstream) }
const replicas = await Promise.all([startGateway({ timeoutMs: 60_000, env }), startGateway({ timeoutMs: 60_000, env })])
t.teardown(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()))
  await Promise.all([upstream.close(), redis.close()])
  rmSync(dir, { recursive: true, force: true })
})

const chat = (replica: number, key: string) => ask(replicas[replica]!.url, 'chat', { key })

t.test('a 60 rpm key over two replicas: 60 admitted in the minute, not 120', async (t) => {
  await awayFromMinuteEdge(30_000)
  let next = 0
  const answers: Array<{ replica: number; answer: Answer }> = []
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < 150) {
        const replica = next++ % 2
        answers.push({ replica, answer: await chat(replica, RPM) })
      }
    }),
  )
  const admitted = answers.filter((a) => a.answer.status === 200)
  t.equal(admitted.length, 60, `60 of ${answers.length} admitted`)
  t.equal(answers.filter((a) => a.answer.status === 429).length, answers.length - 60, 'the others refused with 429')
  const per = [0, 1].map((r) => admitted.filter((a) => a.replica === r).length)
  t.ok(per[0]! > 0 && per[1]! > 0, `both replicas admitted some (${per.join(' + ')})`)
  const remaining = admitted.map((a) => Number(a.answer.headers.get('x-ratelimit-remaining-requests'))).sort((a, b) => a - b)
  t.strictSame(remaining, Array.from({ length: 60 }, (_, i) => i), 'each admitted request took its own unit: remaining 59 … 0, each once')
  t.comment(`admitted per replica: ${per.join(' + ')}; refused: ${answers.length - 60}`)
})

t.test('a $0.01 budget over two replicas: overshot by at most the calls in flight; the same spend read from either replica', async (t) => {
  const served: number[] = []
  let refused = 0
  let worker = 0
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      const replica = worker++ % 2
      for (;;) {
        const answer = await chat(replica, BUDGET)
        if (answer.status !== 200) {
          t.equal(answer.error?.code, 'insufficient_quota', `refused: ${answer.error?.message}`)
          refused++
          return
        }
        served.push(answer.costUsd!)
      }
    }),
  )
  const cost = served[0]!
  t.ok(Math.abs(cost - 0.0034) < 1e-12, `each call costs $${cost}`)
  const spent = served.reduce((a, b) => a + b, 0)
  const withinBudget = Math.ceil(BUDGET_USD / cost)
  t.ok(served.length >= withinBudget, `the budget was used: ${served.length} calls, $${spent.toFixed(4)}`)
  t.ok(served.length <= withinBudget + WORKERS - 1, `overshot by at most the calls in flight (${served.length - withinBudget} of at most ${WORKERS - 1})`)
  t.equal(refused, WORKERS, 'then every worker, on either replica, was refused')
  t.comment(`budget $${BUDGET_USD}: ${served.length} calls served, $${spent.toFixed(4)} spent (${withinBudget} fit), ${WORKERS} in flight at most`)

  // Settling lands in Redis just after the answer: both replicas agree once it has.
  const spendOf = async (replica: number) => {
    const response = await fetch(`${replicas[replica]!.url}/admin/keys/key_budget/spend`, { headers: { authorization: `Bearer ${MASTER}` } })
    const body = (await response.json()) as { spend: { key: { daily: { usd: number; limitUsd: number; resetsAt: string } }; team: { name: string; daily: { usd: number } } } }
    return body.spend
  }
  let reads = await Promise.all([spendOf(0), spendOf(1)])
  for (let i = 0; i < 50 && Math.abs(reads[0].key.daily.usd - spent) > 1e-9; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    reads = await Promise.all([spendOf(0), spendOf(1)])
  }
  t.strictSame(reads[0], reads[1], 'the same spend from either replica')
  t.ok(Math.abs(reads[0].key.daily.usd - spent) < 1e-9, `what the answers cost: $${reads[0].key.daily.usd}`)
  t.equal(reads[0].key.daily.limitUsd, BUDGET_USD)
  t.equal(reads[0].key.daily.resetsAt, new Date(Math.ceil((Date.now() + 1) / 86_400_000) * 86_400_000).toISOString())
  t.match(reads[0].team, { name: 'green' })
  t.ok(Math.abs(reads[0].team.daily.usd - spent) < 1e-9, "the team's spend: its one key's")
})
