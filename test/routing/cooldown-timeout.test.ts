// A target that hangs until the group's `timeoutMs` ends the call is a failing target: it must
// cool down like one that answers 500, or every call waits the whole timeout on it.
import t from 'tap'
import { MODEL, startTargets } from './targets-setup.ts'

t.setTimeout(120_000)

const { upstreams, chat, route } = await startTargets(t, {
  hung: { targets: [{ provider: 'east', model: MODEL }, { provider: 'west', model: MODEL }], timeoutMs: 1000, cooldown: { failures: 1, windowMs: 60_000, cooldownMs: 30_000 } },
})

t.test('a target hanging past the group timeoutMs cools down', async (t) => {
  upstreams.east.setDefault({ hang: true })
  const answer = await chat('hung')
  t.equal(answer.status, 504)
  t.match(answer.body, { error: { message: /timeoutMs|1000 ms/ } }, 'the message names the limit that fired (the group timeoutMs), not UPSTREAM_TOTAL_TIMEOUT_MS')
  const east = (await route('hung')).targets.find((x) => x.provider === 'east')
  t.equal(east?.health, 'cooling_down', 'the hang counted as a failure of east')
})
