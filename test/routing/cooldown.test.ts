// Cooldowns: a target failing `failures` times within `windowMs` is skipped (its emulator gets
// no request) for `cooldownMs`, then one call probes it (half-open); the probe answering
// restores it, the probe failing cools it down again. GET /v1/routes shows each state. A group
// whose every target cools down answers 503 no_target_available with retry-after, and the call
// is recorded as failed.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { FAILING_REPLY, MODEL, OK_REPLY, received, startTargets, type RouteTarget } from './targets-setup.ts'

t.setTimeout(300_000)

/** Long enough that a few calls on a loaded machine end well within it; short enough to wait out. */
const COOLDOWN_MS = 3000

const stack = await startTargets(t, {
  cool: { targets: [{ provider: 'east', model: MODEL }, { provider: 'west', model: MODEL }], cooldown: { failures: 2, windowMs: 60_000, cooldownMs: COOLDOWN_MS } },
  probe: { targets: [{ provider: 'north', model: MODEL }, { provider: 'west', model: MODEL }], cooldown: { failures: 1, windowMs: 60_000, cooldownMs: 500 } },
  pair: { strategy: 'loadbalance', targets: [{ provider: 'east', model: MODEL }, { provider: 'north', model: MODEL }], cooldown: { failures: 1, windowMs: 60_000, cooldownMs: 30_000 } },
})
const { upstreams, chat, route } = stack
t.beforeEach(() => {
  for (const upstream of Object.values(upstreams)) upstream.reset()
  upstreams.west.setDefault(OK_REPLY)
})

async function target(group: string, provider: string): Promise<RouteTarget> {
  const found = (await route(group)).targets.find((x) => x.provider === provider)
  if (!found) throw new Error(`no target ${provider} in ${group}`)
  return found
}

/** Waits out a cooldown that GET /v1/routes says ends at `until` (then the target is to be probed). */
async function waitUntil(until: string | null): Promise<void> {
  if (until === null) throw new Error('no cooldown runs')
  await sleep(Math.max(0, Date.parse(until) - Date.now()) + 50)
}

t.test('a failing target is skipped while it cools down, then probed once and restored', async (t) => {
  upstreams.east.setDefault(FAILING_REPLY)
  let answer = await chat('cool')
  t.equal(answer.status, 200)
  t.equal(answer.target, `west/${MODEL}`, 'the first failure moves the call on')
  t.match(await target('cool', 'east'), { health: 'healthy', state: 'closed', recent_failures: 1, cooldown_until: null })

  const openedAfter = Date.now()
  answer = await chat('cool')
  t.equal(answer.target, `west/${MODEL}`)
  t.equal(upstreams.east.requests.length, 2, 'both calls tried east first')
  const cooling = await target('cool', 'east')
  t.match(cooling, { health: 'cooling_down', state: 'open', recent_failures: 0, cooldown_until: String })
  const until = Date.parse(cooling.cooldown_until!)
  t.ok(until >= openedAfter + COOLDOWN_MS && until <= Date.now() + COOLDOWN_MS, `cooldown_until ${cooling.cooldown_until} is ${COOLDOWN_MS} ms after the second failure`)
  t.match(await target('cool', 'west'), { health: 'healthy', cooldown_until: null }, 'the other target is untouched')

  for (let i = 0; i < 3; i++) {
    answer = await chat('cool')
    t.equal(answer.status, 200)
    t.equal(answer.target, `west/${MODEL}`)
  }
  t.ok(Date.now() < until, 'those calls were made while east cooled down')
  t.equal(upstreams.east.requests.length, 2, 'no request reached east while it cooled down')

  await waitUntil(cooling.cooldown_until)
  t.match(await target('cool', 'east'), { health: 'probing', state: 'half_open', cooldown_until: null }, 'the cooldown over, the next call probes it')
  upstreams.east.setDefault(OK_REPLY)
  answer = await chat('cool')
  t.equal(answer.target, `east/${MODEL}`, 'the probe served the call')
  t.equal(upstreams.east.requests.length, 3, 'exactly one request: the probe')
  t.match(await target('cool', 'east'), { health: 'healthy', state: 'closed', recent_failures: 0, cooldown_until: null }, 'restored')
  answer = await chat('cool')
  t.equal(answer.target, `east/${MODEL}`, 'and first again')
})

t.test('a probe that fails cools the target down again, from the probe on', async (t) => {
  upstreams.east.setDefault(FAILING_REPLY)
  await chat('cool')
  await chat('cool')
  const first = await target('cool', 'east')
  t.equal(first.health, 'cooling_down')
  await waitUntil(first.cooldown_until)
  const probedAfter = Date.now()
  const answer = await chat('cool')
  t.equal(answer.target, `west/${MODEL}`, 'the probe failed: the call moved on')
  t.equal(upstreams.east.requests.length, 3, 'one probe')
  const again = await target('cool', 'east')
  t.equal(again.health, 'cooling_down', 'one failed probe is enough (not `failures` of them)')
  t.ok(Date.parse(again.cooldown_until!) >= probedAfter + COOLDOWN_MS, `a full cooldown from the probe: ${again.cooldown_until}`)
  await chat('cool')
  t.equal(upstreams.east.requests.length, 3, 'skipped again')
  // Leave it healthy for the next tests: its cooldown ends, the probe answers.
  await waitUntil(again.cooldown_until)
  upstreams.east.setDefault(OK_REPLY)
  t.equal((await chat('cool')).target, `east/${MODEL}`)
})

/** Opens north in `probe` (one failure) and waits for its half-open state. */
async function halfOpenNorth(t: Test): Promise<void> {
  upstreams.north.setDefault(FAILING_REPLY)
  t.equal((await chat('probe')).target, `west/${MODEL}`)
  const north = await target('probe', 'north')
  t.equal(north.health, 'cooling_down')
  await waitUntil(north.cooldown_until)
  t.equal((await target('probe', 'north')).health, 'probing')
  upstreams.north.reset()
}

t.test('calls arriving together in half-open: one probe, the others go on to the next target', async (t) => {
  await halfOpenNorth(t)
  // The probe takes its time: the other calls arrive while it is out.
  upstreams.north.setDefault({ ...OK_REPLY, delayMs: 1500 })
  const answers = await Promise.all(Array.from({ length: 6 }, () => chat('probe')))
  t.same(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200])
  t.equal(upstreams.north.requests.length, 1, 'north received exactly one request: the probe')
  t.equal(answers.filter((a) => a.target === `north/${MODEL}`).length, 1, 'which served its call')
  t.equal(answers.filter((a) => a.target === `west/${MODEL}`).length, 5)
  t.equal((await target('probe', 'north')).health, 'healthy')
})

t.test('a probe whose caller leaves does not leave the target stuck: the next call probes it', async (t) => {
  await halfOpenNorth(t)
  upstreams.north.setDefault({ hang: true })
  const caller = new AbortController()
  const leaving = fetch(`${stack.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'probe', messages: [{ role: 'user', content: 'hi' }] }),
    signal: caller.signal,
  }).catch((error: Error) => error)
  await upstreams.north.waitForRequests(1)
  t.equal((await target('probe', 'north')).health, 'probing')
  caller.abort()
  t.match(await leaving, { name: 'AbortError' })
  await upstreams.north.waitForAbort(0)
  upstreams.north.reset()
  upstreams.north.setDefault(OK_REPLY)
  // The gateway learns of the leaving caller as the upstream request is aborted; give its
  // bookkeeping a moment (the breaker is released in the same turn as that abort).
  let answer = await chat('probe')
  for (let i = 0; i < 20 && answer.target !== `north/${MODEL}`; i++) {
    await sleep(50)
    answer = await chat('probe')
  }
  t.equal(answer.target, `north/${MODEL}`, 'a later call was let through as the probe')
  t.equal(upstreams.north.requests.length, 1)
  t.equal((await target('probe', 'north')).health, 'healthy')
})

t.test('every target cooling down: 503 no_target_available with retry-after, recorded as a failed call', async (t) => {
  upstreams.east.setDefault(FAILING_REPLY)
  upstreams.north.setDefault(FAILING_REPLY)
  const failed = await chat('pair')
  t.equal(failed.status, 502, 'both failed: the last upstream failure is the answer')
  t.equal(received(upstreams).east + received(upstreams).north, 2)
  const group = await route('pair')
  t.same(group.targets.map((x) => x.health), ['cooling_down', 'cooling_down'])

  const before = await scrapeMetrics(stack.gateway.url)
  const answer = await chat('pair')
  t.equal(answer.status, 503)
  t.equal(received(upstreams).east + received(upstreams).north, 2, 'no upstream was called')
  const retryAfter = Number(answer.headers.get('retry-after'))
  t.ok(retryAfter >= 29 && retryAfter <= 30, `retry-after ${answer.headers.get('retry-after')} s: when the first target is probed again`)
  const error = (answer.body as { error: { code: string; type: string; message: string } }).error
  t.equal(error.code, 'no_target_available')
  t.equal(error.type, 'api_error')
  t.match(error.message, /No target of route pair can take the call now: every one is cooling down/)
  t.match(error.message, /GET \/v1\/routes shows their state/)
  t.equal(answer.headers.get('x-gateway-target'), null, 'no target served')

  let after = before
  for (let i = 0; i < 40 && metricSum(after, 'llm_requests_failed_total') === metricSum(before, 'llm_requests_failed_total'); i++) {
    await sleep(100)
    after = await scrapeMetrics(stack.gateway.url)
  }
  t.equal(metricSum(after, 'llm_requests_failed_total') - metricSum(before, 'llm_requests_failed_total'), 1, 'counted as one failed call')
  t.ok(
    stack.gateway.logs().some((line) => line.msg === 'request' && line.status === 503 && line.model === 'pair'),
    'and logged as a 503 of the group',
  )
})
