// The circuit breaker of one route-group target, on a clock the test moves: when it opens, what
// a call may do while it cools down, the one probe of half-open, and what frees the probe's slot.
// The dispatch reports every call it let through exactly once (succeeded / failed / released);
// the concurrency cases below are what many calls in flight at once produce.
import t from 'tap'
import { Breaker } from '../../src/core/routing/breaker.ts'

function clocked(settings = { failures: 3, windowMs: 1000, cooldownMs: 500 }) {
  let now = 10_000
  const breaker = new Breaker(settings, () => now)
  return { breaker, tick: (ms: number) => (now += ms), now: () => now }
}

/** One call through the breaker that fails (what the dispatch does on a 5xx). */
function failOnce(breaker: Breaker): void {
  if (!breaker.acquire()) throw new Error('expected the call to be let through')
  breaker.failed()
}

t.test('failures within the window open it; older ones are forgotten', async (t) => {
  const { breaker, tick, now } = clocked()
  failOnce(breaker)
  tick(600)
  failOnce(breaker)
  t.equal(breaker.snapshot().recentFailures, 2)
  tick(500) // the first failure is now 1100 ms old: out of the 1000 ms window
  failOnce(breaker)
  t.equal(breaker.state(), 'closed', 'two failures within the window, not three')
  t.equal(breaker.snapshot().recentFailures, 2)
  tick(10)
  failOnce(breaker)
  t.equal(breaker.state(), 'open')
  t.same(breaker.snapshot(), { state: 'open', recentFailures: 0, cooldownUntil: now() + 500 })
})

t.test('a success resets the count', async (t) => {
  const { breaker } = clocked()
  failOnce(breaker)
  failOnce(breaker)
  t.ok(breaker.acquire())
  breaker.succeeded()
  failOnce(breaker)
  failOnce(breaker)
  t.equal(breaker.state(), 'closed')
})

t.test('open: no call is let through until the cooldown ends, then one probe', async (t) => {
  const { breaker, tick } = clocked({ failures: 1, windowMs: 1000, cooldownMs: 500 })
  failOnce(breaker)
  t.notOk(breaker.available())
  t.notOk(breaker.acquire(), 'skipped while cooling down')
  tick(499)
  t.notOk(breaker.acquire(), 'still cooling down 1 ms before the end')
  tick(1)
  t.equal(breaker.state(), 'half_open')
  t.same(breaker.snapshot(), { state: 'half_open', recentFailures: 0, cooldownUntil: undefined })
  t.ok(breaker.available())
  t.ok(breaker.acquire(), 'the probe')
  t.notOk(breaker.available(), 'the probe is out')
  t.notOk(breaker.acquire(), 'a second concurrent call is no probe')
  t.notOk(breaker.acquire(), 'nor a third')
})

t.test('the probe answering closes it', async (t) => {
  const { breaker, tick } = clocked({ failures: 1, windowMs: 1000, cooldownMs: 500 })
  failOnce(breaker)
  tick(500)
  t.ok(breaker.acquire())
  breaker.succeeded()
  t.equal(breaker.state(), 'closed')
  t.ok(breaker.acquire() && breaker.acquire(), 'closed: every call goes')
})

t.test('the probe failing opens it for another full cooldown', async (t) => {
  const { breaker, tick, now } = clocked({ failures: 3, windowMs: 1000, cooldownMs: 500 })
  for (let i = 0; i < 3; i++) failOnce(breaker)
  tick(700)
  t.ok(breaker.acquire(), 'the probe')
  breaker.failed()
  t.same(breaker.snapshot(), { state: 'open', recentFailures: 0, cooldownUntil: now() + 500 }, 'one failure of the probe is enough')
  tick(500)
  t.ok(breaker.acquire(), 'the next probe, after the new cooldown')
})

t.test('a probe whose caller left frees the slot: the breaker is not stuck half-open', async (t) => {
  const { breaker, tick } = clocked({ failures: 1, windowMs: 1000, cooldownMs: 500 })
  failOnce(breaker)
  tick(500)
  t.ok(breaker.acquire(), 'the probe')
  breaker.released()
  t.equal(breaker.state(), 'half_open', 'no verdict: still to be probed')
  t.ok(breaker.available())
  t.ok(breaker.acquire(), 'another call is the probe now')
  t.notOk(breaker.acquire(), 'and only one')
})

t.test('a call let through before it opened cannot free a second probe', async (t) => {
  const { breaker, tick } = clocked({ failures: 1, windowMs: 10_000, cooldownMs: 500 })
  t.ok(breaker.acquire(), 'a slow call, let through while closed')
  failOnce(breaker) // another call fails: open
  tick(500)
  t.ok(breaker.acquire(), 'the probe')
  breaker.released() // the slow call's caller leaves (or is it the probe's? the breaker cannot tell)
  t.notOk(breaker.acquire(), 'no second probe while one may still be out')
  breaker.released() // the other one ends too: nothing is out any more
  t.ok(breaker.acquire(), 'the slot is free again')
})

t.test('a late failure of a call let through while closed does not extend the cooldown', async (t) => {
  const { breaker, tick, now } = clocked({ failures: 1, windowMs: 10_000, cooldownMs: 500 })
  t.ok(breaker.acquire(), 'a slow call')
  failOnce(breaker)
  const until = now() + 500
  tick(200)
  breaker.failed() // the slow call fails now
  t.same(breaker.snapshot().cooldownUntil, until)
})

t.test('a late success closes it: the upstream answered', async (t) => {
  const { breaker } = clocked({ failures: 1, windowMs: 10_000, cooldownMs: 500 })
  t.ok(breaker.acquire(), 'a slow call')
  failOnce(breaker)
  breaker.succeeded()
  t.equal(breaker.state(), 'closed')
})

t.test('the probe failing while a late call is out: cooled down again, still one probe at a time', async (t) => {
  const { breaker, tick } = clocked({ failures: 1, windowMs: 10_000, cooldownMs: 500 })
  t.ok(breaker.acquire(), 'a slow call')
  failOnce(breaker)
  tick(500)
  t.ok(breaker.acquire(), 'the probe')
  breaker.failed()
  t.equal(breaker.state(), 'open')
  tick(500)
  t.notOk(breaker.acquire(), 'the slow call may be the probe still out: no second one')
  breaker.released()
  t.ok(breaker.acquire(), 'once it ended, the next probe goes')
})
