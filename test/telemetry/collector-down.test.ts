// With no collector running (the default endpoint on a laptop), the gateway says so once, in one
// readable line, and Ctrl-C does not wait for the exporter's retries (SPEC §4: exit promptly).
import t from 'tap'
import { waitForLog, type GatewayProcess } from '../support/gateway.ts'
import { postChat, startGateways } from './helpers.ts'

// Real gateway processes: on a loaded machine start-up alone can take minutes.
t.setTimeout(600_000)
const STARTUP_MS = 240_000

/** Nothing listens on the discard port: every export is refused. */
const DEAD = 'http://127.0.0.1:9'
/** The defaults a user gets (the test support shortens them): a 5 s batch, a 10 s export timeout. */
const DEFAULT_TIMINGS = {
  OTEL_BSP_SCHEDULE_DELAY: '5000',
  OTEL_EXPORTER_OTLP_TIMEOUT: '10000',
  OTEL_METRIC_EXPORT_INTERVAL: '60000',
  SHUTDOWN_TIMEOUT_MS: '10000',
}

const [noticed, fresh] = (await startGateways([
  // Fast batches and metric pushes (the test support's): many failed exports within a second.
  { timeoutMs: STARTUP_MS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: DEAD } },
  { timeoutMs: STARTUP_MS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: DEAD, ...DEFAULT_TIMINGS } },
])) as [GatewayProcess, GatewayProcess]
t.teardown(() => Promise.all([noticed.stop('SIGKILL'), fresh.stop('SIGKILL')]))

const hello = { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] }
const UNREACHABLE = /^OTLP collector at http:\/\/127\.0\.0\.1:9 is unreachable \(ECONNREFUSED\): spans and metrics are not exported; \/traces and \/metrics still work$/

/** Signals the gateway and resolves with the exit code and how long it took to go. */
async function timedStop(gateway: GatewayProcess): Promise<{ code: number | null; ms: number }> {
  const signalledAt = Date.now()
  const code = await gateway.stop('SIGTERM')
  return { code, ms: Date.now() - signalledAt }
}

t.test('an unreachable collector is one friendly warning, not a stack per export', async (t) => {
  for (let i = 0; i < 3; i++) t.equal((await postChat(noticed.url, hello)).status, 200, 'requests are served')
  await waitForLog(noticed, UNREACHABLE)
  // Span batches every 50 ms and metric pushes every 250 ms keep failing meanwhile.
  await new Promise((r) => setTimeout(r, 1500))
  t.equal((await postChat(noticed.url, hello)).status, 200)
  await new Promise((r) => setTimeout(r, 500))

  const warnings = noticed.logs().filter((l) => l.level === 40)
  t.equal(warnings.filter((l) => UNREACHABLE.test(String(l.msg))).length, 1, 'said exactly once')
  // (A metric push cut by its own 250 ms timeout before the exporter gave up may say so, once.)
  const repeats = warnings.map((l) => String(l.msg)).filter((m) => /ECONNREFUSED|connect|unreachable/i.test(m) && !UNREACHABLE.test(m))
  t.same(repeats, [], 'no other line about the refused connection (span batches, metric pushes)')
  t.notOk(noticed.lines.some((l) => /stack|errno|TCPConnectWrap|ECONNREFUSED 127/.test(l)), 'no raw error object or stack anywhere in the output')
})

t.test('SIGTERM with the collector known to be down: no wait for it, and says spans were not exported', async (t) => {
  t.equal((await postChat(noticed.url, hello)).status, 200, 'a request whose spans cannot be sent')
  const { code, ms } = await timedStop(noticed)
  t.equal(code, 0, 'exit 0')
  // Before: the flush waited out the exporter's retries (up to the 10 s deadline).
  t.ok(ms < 3000, `gone ${ms} ms after the signal`)
  t.ok(
    noticed.logs().some((l) => l.level === 40 && /^spans not exported: collector unreachable \(http:\/\/127\.0\.0\.1:9\)$/.test(String(l.msg))),
    'said what was skipped and why',
  )
})

t.test('SIGTERM while the first export is still retrying: the flush is bounded, exit in about 2 s', async (t) => {
  t.equal((await postChat(fresh.url, hello)).status, 200)
  const { code, ms } = await timedStop(fresh)
  t.equal(code, 0, 'exit 0')
  // Before: ≈ 8–10 s, the exporter retrying a refused connection until its 10 s timeout.
  t.ok(ms < 5000, `gone ${ms} ms after the signal`)
  t.ok(
    fresh.logs().some((l) => l.level === 40 && /^telemetry flush did not finish in 2000 ms: .*not exported \(collector at http:\/\/127\.0\.0\.1:9 slow or unreachable\)$/.test(String(l.msg))),
    'said the flush was cut short',
  )
  t.ok(fresh.logs().some((l) => l.msg === 'stopped'))
})
