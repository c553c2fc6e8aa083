// Issue 14, "Redis stopped mid-run under both settings": two gateways on one Redis (Debian's
// redis-server), one with GATEWAY_LIMITS_ON_REDIS_ERROR=serve (the default), one with refuse.
// Redis stopped: the first answers every call, unchecked (no rate-limit headers), and counts each
// in gateway_limits_store_lapses_total; the second answers a clear 503 (in Anthropic's shape on
// /v1/messages). Each logs the outage once. Redis started again: both check limits again, by
// themselves, and the outage's end is logged once. Redis hung (SIGSTOP: connected, answering
// nothing): no call waits more than the store's 250 ms command timeout for it.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashOf } from '../../src/keys/hash.ts'
import { startGateway } from '../support/gateway.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { REDIS_MISSING, REDIS_SERVER, startRedis } from '../support/redis.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { ask, type Answer, type Ingress } from './helpers.ts'

if (!REDIS_SERVER) {
  t.plan(0, REDIS_MISSING)
  process.exit(0)
}
t.setTimeout(180_000)

const KEY = 'sk-gw-limits-outage-9e1c3a5d7b2f'
const SCRAPER = 'gw-limits-outage-scraper-4a6c8e0b2d1f'
const OUTAGE = /^limits: Redis is unreachable/
const BACK = 'limits: Redis is reachable again'
/** Far above a command's 250 ms limit: a call held up by the store would show. */
const PROMPT_MS = 2_000

const dir = mkdtempSync(join(tmpdir(), 'gateway-limits-outage-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(keysFile, JSON.stringify({ keys: [{ id: 'key_outage', name: 'outage', hash: hashOf(KEY), limits: { requestsPerMinute: 10_000 }, budgets: { dailyUsd: 100 } }] }))
const redis = await startRedis()
const upstream = await startUpstream()
upstream.setDefault({ embeddings: true })
const env = { GATEWAY_KEYS_FILE: keysFile, GATEWAY_API_KEYS: SCRAPER, REDIS_URL: redis.url, HOST: '127.0.0.1', ...providerEnv(upstream) }
const [serve, refuse] = await Promise.all([
  startGateway({ timeoutMs: 60_000, env }),
  startGateway({ timeoutMs: 60_000, env: { ...env, GATEWAY_LIMITS_ON_REDIS_ERROR: 'refuse' } }),
])
t.teardown(async () => {
  await Promise.all([serve.stop(), refuse.stop()])
  await Promise.all([upstream.close(), redis.close()])
  rmSync(dir, { recursive: true, force: true })
})

type Gateway = typeof serve
const call = async (gateway: Gateway, ingress: Ingress = 'embeddings') => {
  const started = performance.now()
  const answer = await ask(gateway.url, ingress, { key: KEY, upstream: ingress === 'embeddings' ? undefined : upstream })
  return { ...answer, ms: performance.now() - started }
}
const checked = (answer: Answer) => answer.headers.get('x-ratelimit-limit-requests') === '10000'
const count = (gateway: Gateway, msg: string | RegExp) =>
  gateway.logs().filter((line) => (typeof msg === 'string' ? line.msg === msg : msg.test(String(line.msg)))).length
const lapses = async (gateway: Gateway, outcome: string) =>
  metricSum(await scrapeMetrics(gateway.url, SCRAPER), 'gateway_limits_store_lapses_total', { operation: 'admit', outcome })

t.test('Redis up: both check limits', async (t) => {
  for (const gateway of [serve, refuse]) {
    const answer = await call(gateway)
    t.equal(answer.status, 200)
    t.ok(checked(answer), 'rate-limit headers: the limits were checked')
  }
})

t.test('Redis stopped: serve answers unchecked and counts the lapses; refuse answers a clear 503; each logs it once', async (t) => {
  await redis.stop()
  const served = [] as Array<Answer & { ms: number }>
  for (let i = 0; i < 6; i++) served.push(await call(serve))
  served.push(...(await Promise.all(Array.from({ length: 4 }, () => call(serve)))))
  t.strictSame(served.map((a) => a.status), served.map(() => 200), 'serve: every call answered')
  t.ok(served.every((a) => !checked(a)), 'unchecked: no rate-limit headers')
  t.ok(served.every((a) => a.ms < PROMPT_MS), `promptly (max ${Math.max(...served.map((a) => a.ms)).toFixed(0)} ms)`)
  t.equal(await lapses(serve, 'served'), served.length, `each counted in gateway_limits_store_lapses_total (${served.length})`)

  const refused = [] as Array<Answer & { ms: number }>
  for (let i = 0; i < 4; i++) refused.push(await call(refuse))
  t.strictSame(refused.map((a) => a.status), refused.map(() => 503), 'refuse: 503')
  t.match(refused[0]!.error, { type: 'api_error', code: 'limits_unavailable', message: /store \(Redis\) is unreachable.*GATEWAY_LIMITS_ON_REDIS_ERROR=refuse/ })
  t.equal(refused[0]!.headers.get('retry-after'), '1')
  t.ok(refused.every((a) => a.ms < PROMPT_MS), 'promptly')
  const messages = await call(refuse, 'messages')
  t.equal(messages.status, 503)
  t.ok(messages.anthropicShape, "Anthropic's error shape on /v1/messages")
  t.equal(messages.error?.type, 'api_error')
  const streamed = await ask(refuse.url, 'chat', { key: KEY, stream: true })
  t.equal(streamed.status, 503, 'a streamed call too, before any stream begins')
  t.equal(await lapses(refuse, 'refused'), refused.length + 2, 'each refusal counted')

  for (const gateway of [serve, refuse]) t.equal(count(gateway, OUTAGE), 1, 'the outage logged once, not once per call')
})

t.test('Redis started again: both check limits again by themselves; the end logged once', async (t) => {
  await redis.restart()
  for (const gateway of [serve, refuse]) {
    const until = Date.now() + 20_000
    let answer = await call(gateway)
    while (!checked(answer) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      answer = await call(gateway)
    }
    t.equal(answer.status, 200)
    t.ok(checked(answer), 'checked again')
    t.equal(count(gateway, BACK), 1, 'the recovery logged once')
    t.equal(count(gateway, OUTAGE), 1, 'and no other outage')
  }
  t.notMatch(serve.lines.join('\n') + refuse.lines.join('\n'), /Unhandled error event/, "ioredis never reported an unhandled 'error' event")
})

t.test('Redis hung (SIGSTOP): calls are not held up; resumed, limits are checked again', async (t) => {
  redis.pause()
  t.teardown(() => redis.resume())
  const served = await Promise.all(Array.from({ length: 4 }, () => call(serve)))
  const refused = await Promise.all(Array.from({ length: 4 }, () => call(refuse)))
  t.strictSame(served.map((a) => a.status), [200, 200, 200, 200], 'serve: answered')
  t.strictSame(refused.map((a) => a.status), [503, 503, 503, 503], 'refuse: 503')
  const slowest = Math.max(...[...served, ...refused].map((a) => a.ms))
  t.ok(slowest < PROMPT_MS, `promptly (slowest ${slowest.toFixed(0)} ms)`)
  redis.resume()
  for (const gateway of [serve, refuse]) {
    const until = Date.now() + 20_000
    let answer = await call(gateway)
    while (!checked(answer) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      answer = await call(gateway)
    }
    t.ok(answer.status === 200 && checked(answer), 'checked again')
  }
})
