// Issue 13, "A Redis outage makes the cache a miss, never a failed request", against Debian's
// redis-server: stopped mid-run, every call is still answered (a miss, from the upstream), the
// outage is logged once however many calls missed, and when Redis is back the client reconnects
// by itself and caching resumes. Hung (SIGSTOP: connected, answering nothing), calls are not held
// up: each lookup gives up after 250 ms. A gateway stopped while Redis hangs still exits.
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../support/gateway.ts'
import { CACHE_KEY_PATTERN, REDIS_MISSING, REDIS_SERVER, cachedGroupConfig, startRedis } from '../support/redis.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'

if (!REDIS_SERVER) {
  t.plan(0, REDIS_MISSING)
  process.exit(0)
}
t.setTimeout(180_000)

const GROUP = 'cached-smart'
const OUTAGE = /^response cache: Redis is unreachable/
const BACK = 'response cache: Redis is reachable again'
/** Far above a lookup's 250 ms limit plus the emulator's answer; a stalled call would take the test's whole timeout. */
const PROMPT_MS = 2_000

const dir = mkdtempSync(join(tmpdir(), 'gateway-redis-outage-'))
const redis = await startRedis()
const upstream = await startUpstream()
upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
const env = { GATEWAY_CONFIG: cachedGroupConfig(dir, GROUP), REDIS_URL: redis.url, ...providerEnv(upstream) }
const gateway = await startGateway({ timeoutMs: 45_000, env })
t.teardown(async () => {
  redis.resume()
  await gateway.stop()
  await Promise.all([upstream.close(), redis.close()])
  rmSync(dir, { recursive: true, force: true })
})
const client = gateway.client()

interface Answer {
  status: number
  cache: string | null
  ms: number
}

async function ask(content: string): Promise<Answer> {
  const started = performance.now()
  const { response } = await client.chat.completions.create({ model: GROUP, messages: [{ role: 'user', content }] }).withResponse()
  return { status: response.status, cache: response.headers.get('x-gateway-cache'), ms: performance.now() - started }
}

const count = (msg: string | RegExp) => gateway.logs().filter((line) => (typeof msg === 'string' ? line.msg === msg : msg.test(String(line.msg)))).length
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Asks `content` until it is a hit (Redis back, the client reconnected, the answer kept again). */
async function untilHit(content: string, timeoutMs = 20_000): Promise<{ asked: number; ms: number; failed: number }> {
  const started = performance.now()
  let asked = 0
  let failed = 0
  while (performance.now() - started < timeoutMs) {
    const answer = await ask(content)
    asked++
    if (answer.status !== 200) failed++
    if (answer.cache === 'hit') break
    await sleep(100)
  }
  return { asked, ms: performance.now() - started, failed }
}

/** Asks `content` once (a miss that fills the cache), waits for Redis to keep it, asks again: a hit. */
async function cached(t: Test, content: string): Promise<void> {
  t.equal((await ask(content)).cache, 'miss', 'first: a miss')
  const until = Date.now() + 10_000
  while ((await redis.keys(CACHE_KEY_PATTERN)).length === 0 && Date.now() < until) await sleep(25)
  t.equal((await ask(content)).cache, 'hit', 'then a hit: Redis holds it')
}

function allMissesAnswered(t: Test, answers: Answer[], what: string): void {
  t.strictSame(answers.map((a) => a.status), answers.map(() => 200), `${what}: every call answered 200`)
  t.strictSame(answers.map((a) => a.cache), answers.map(() => 'miss'), `${what}: every call a miss`)
}

const stats = (answers: Answer[]) => {
  const ms = answers.map((a) => a.ms).sort((x, y) => x - y)
  return `median ${ms[Math.floor(ms.length / 2)]!.toFixed(0)} ms, max ${ms.at(-1)!.toFixed(0)} ms over ${ms.length}`
}

t.test('a miss with Redis up: the reference latency', async (t) => {
  const answers: Answer[] = []
  for (let i = 0; i < 6; i++) answers.push(await ask(`reference ${i}`))
  allMissesAnswered(t, answers, 'Redis up')
  t.comment(`miss, Redis up: ${stats(answers)}`)
})

t.test('Redis stopped mid-run: misses, no failures, one log line; started again: caching resumes', async (t) => {
  await cached(t, 'stopped: before')
  const outagesBefore = count(OUTAGE)
  const upstreamBefore = upstream.requests.length

  await redis.stop()
  const answers: Answer[] = []
  for (let i = 0; i < 6; i++) answers.push(await ask('stopped: before'))
  answers.push(...(await Promise.all(Array.from({ length: 6 }, () => ask('stopped: before')))))
  await sleep(1_500) // several reconnection attempts, each refused
  for (let i = 0; i < 3; i++) answers.push(await ask(`stopped: after ${i}`))
  allMissesAnswered(t, answers, 'Redis stopped')
  t.equal(upstream.requests.length - upstreamBefore, answers.length, 'each answered by the upstream')
  t.ok(answers.every((a) => a.ms < PROMPT_MS), `promptly (${stats(answers)})`)
  t.comment(`miss, Redis stopped: ${stats(answers)}`)
  t.equal(count(OUTAGE) - outagesBefore, 1, `the outage is logged once, not once per call (${answers.length} calls)`)

  const backBefore = count(BACK)
  await redis.restart()
  const recovery = await untilHit('stopped: before')
  t.equal(recovery.failed, 0, 'no call failed while the client reconnected')
  t.ok(recovery.asked >= 2, 'the restarted Redis was empty: a miss kept the answer again, then a hit')
  t.comment(`caching resumed ${recovery.ms.toFixed(0)} ms after the restart (${recovery.asked} calls)`)
  t.equal((await ask('stopped: before')).cache, 'hit', 'the client reconnected: a repeated call is a hit')
  t.equal(count(BACK) - backBefore, 1, 'the end of the outage is logged once')
  t.equal(count(OUTAGE) - outagesBefore, 1, 'and no other outage was')
})

t.test('Redis killed (SIGKILL): misses; started again: hits', async (t) => {
  await cached(t, 'killed: before')
  const outagesBefore = count(OUTAGE)
  await redis.kill()
  const answers: Answer[] = []
  for (let i = 0; i < 4; i++) answers.push(await ask('killed: before'))
  allMissesAnswered(t, answers, 'Redis killed')
  await redis.restart()
  const recovery = await untilHit('killed: before')
  t.equal(recovery.failed, 0, 'no call failed while the client reconnected')
  t.equal((await ask('killed: before')).cache, 'hit', 'a repeated call is a hit')
  t.equal(count(OUTAGE) - outagesBefore, 1, 'the outage is logged once')
})

t.test('Redis hung (SIGSTOP): calls answered promptly as misses; resumed (SIGCONT): hits again', async (t) => {
  await cached(t, 'hung: before')
  const outagesBefore = count(OUTAGE)
  const backBefore = count(BACK)

  redis.pause()
  t.notOk(await redis.ping(300), 'Redis answers nothing')
  const answers: Answer[] = []
  for (let i = 0; i < 8; i++) answers.push(await ask('hung: before'))
  answers.push(...(await Promise.all(Array.from({ length: 4 }, () => ask('hung: before')))))
  allMissesAnswered(t, answers, 'Redis hung')
  t.ok(answers.every((a) => a.ms < PROMPT_MS), `none stalled (${stats(answers)})`)
  t.comment(`miss, Redis hung: ${stats(answers)}; in order: ${answers.map((a) => a.ms.toFixed(0)).join(", ")} ms`)
  t.equal(count(OUTAGE) - outagesBefore, 1, 'the outage is logged once')

  redis.resume()
  // Nothing was lost: the first lookup answered is a hit.
  const recovery = await untilHit('hung: before')
  t.equal(recovery.failed, 0, 'no call failed')
  t.comment(`caching resumed ${recovery.ms.toFixed(0)} ms after SIGCONT (${recovery.asked} calls)`)
  t.equal((await ask('hung: before')).cache, 'hit', 'a repeated call is a hit')
  t.equal(count(BACK) - backBefore, 1, 'the end of the outage is logged once')
})

t.test('a gateway stopped while Redis hangs still exits, cleanly', async (t) => {
  const other = await startGateway({ timeoutMs: 45_000, env })
  t.equal((await other.client().chat.completions.create({ model: GROUP, messages: [{ role: 'user', content: 'shutdown' }] }).withResponse()).response.status, 200)
  redis.pause()
  t.teardown(() => redis.resume())
  const started = performance.now()
  t.equal(await other.stop(), 0, 'exit code 0')
  t.comment(`SIGTERM to exit with Redis hung: ${(performance.now() - started).toFixed(0)} ms`)
  t.ok(other.logs().some((line) => line.msg === 'stopped'), 'the shutdown ran to its end')
  t.notMatch(other.lines.join('\n') + gateway.lines.join('\n'), /Unhandled error event/, "ioredis never reported an unhandled 'error' event")
})
