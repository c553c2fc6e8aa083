// SPEC §4: SIGTERM/SIGINT → stop accepting, let in-flight requests finish up to a deadline, flush
// telemetry, exit 0; no finished request's spans are lost.
import t from 'tap'
import { Agent, fetch as undiciFetch } from 'undici'
import { startGateway, waitForLog, type GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { FIRST_CONTENT, readUntil } from '../support/read-until.ts'
import { sseEvents } from '../support/upstream.ts'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(600_000)

const receiver = await startOtlpReceiver()
// Started together (start-up is the slow part); each test sends its own signal.
const [draining, shortDeadline, idle] = await Promise.all([
  startGateway({
    timeoutMs: 240_000,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // Spans would otherwise wait a minute in the batch: only the shutdown flush can deliver them.
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      DEMO_TOKEN_DELAY_MS: '30',
      SHUTDOWN_TIMEOUT_MS: '15000',
    },
  }),
  startGateway({ timeoutMs: 240_000, env: { DEMO_TOKEN_DELAY_MS: '150', SHUTDOWN_TIMEOUT_MS: '500' } }),
  startGateway({ timeoutMs: 240_000 }),
])
t.teardown(async () => {
  // Only does something when a test failed before its gateway exited.
  await Promise.all([draining, shortDeadline, idle].map((g) => g.stop('SIGKILL')))
  await receiver.close()
})

// About 70 words at 30 ms each: a stream of some 2 s, still running when the signal comes.
const longPrompt = 'word '.repeat(40).trim()
const body = JSON.stringify({ model: 'demo-chat', stream: true, messages: [{ role: 'user', content: longPrompt }] })

// A client that keeps idle connections for a minute, as proxies and load balancers do: the
// gateway must close the connection once the in-flight answer is done, not wait for the client.
const keepAlive = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
t.teardown(() => keepAlive.close())

async function startStream(gateway: GatewayProcess): Promise<Response> {
  const response = await undiciFetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    dispatcher: keepAlive,
  })
  return response as unknown as Response
}

/** The status a brand-new request gets, or 'refused' when it cannot connect at all. */
async function probe(url: string, init?: RequestInit): Promise<number | 'refused'> {
  try {
    const response = await fetch(url, init)
    await response.arrayBuffer()
    return response.status
  } catch {
    return 'refused'
  }
}

t.test('SIGTERM mid-stream: the stream finishes, new work is turned away, spans are flushed, exit 0', async (t) => {
  const gateway = draining
  t.equal(await probe(`${gateway.url}/ready`), 200, 'ready before the signal')

  const response = await startStream(gateway)
  t.equal(response.status, 200)
  const traceId = response.headers.get('x-trace-id')
  const stream = await readUntil(response, FIRST_CONTENT)
  const exited = gateway.stop('SIGTERM')
  await waitForLog(gateway, 'draining')

  const ready = await probe(`${gateway.url}/ready`)
  t.ok(ready === 'refused' || ready === 503, `/ready while draining: ${ready}`)
  const chat = await probe(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  t.ok(chat === 'refused' || chat === 503, `a new chat request while draining: ${chat}`)

  const text = await stream.rest()
  const streamEndedAt = Date.now()
  t.ok(text.endsWith('data: [DONE]\n\n'), 'the in-flight stream completed with [DONE]')
  const words = sseEvents(text)
    .filter((e) => e.data !== '[DONE]')
    .map((e) => (JSON.parse(e.data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
    .join('')
  t.match(words, /offline demo provider/)
  t.match(words, /word word word/, 'the whole answer, echo included')

  t.equal(await exited, 0, 'exit code 0')
  const lingered = Date.now() - streamEndedAt
  t.ok(lingered < 5000, `exited ${lingered} ms after its last request ended, not at the 15 s deadline`)
  t.notOk(gateway.logs().some((l) => String(l.msg).startsWith('shutdown deadline reached')), 'the deadline was not needed')
  t.ok(gateway.logs().some((l) => l.msg === 'stopped'), 'logged that it stopped')
  const spans = receiver.spans.filter((s) => s.traceId === traceId)
  const request = spans.find((s) => s.name === 'llm.request')
  t.ok(request, `the finished request's llm.request span reached the collector before exit (got ${spans.map((s) => s.name).join(', ') || 'none'})`)
  t.not(request?.status.code, 'ERROR', 'and it is not marked failed')
})

t.test('SIGTERM with a stream longer than SHUTDOWN_TIMEOUT_MS: cut at the deadline, still exit 0', async (t) => {
  const gateway = shortDeadline
  const response = await startStream(gateway)
  const stream = await readUntil(response, FIRST_CONTENT)
  const signalledAt = Date.now()
  const exited = gateway.stop('SIGTERM')
  const text = await stream.rest()
  t.notOk(text.includes('[DONE]'), 'the stream was cut, not completed')
  t.equal(await exited, 0, 'exit code 0')
  const ms = Date.now() - signalledAt
  // The whole answer would take ~10 s; the deadline plus the flush allowance is ~1.5 s.
  t.ok(ms < 6000, `gone ${ms} ms after the signal, not after the stream's natural end`)
  t.ok(gateway.logs().some((l) => l.msg === 'shutdown deadline reached: closing connections still open'), 'said why')
})

t.test('SIGINT on an idle gateway: exit 0', async (t) => {
  const gateway = idle
  t.equal(await gateway.stop('SIGINT'), 0)
})
