// Issue 10, defect 3: callers without a valid key are not traced. Sent as the attack was: a
// flood of 401s must not push real traces out of the store, and a 401 carrying a victim's
// `traceparent` must not add a span to the victim's trace (in the store or at the collector).
// They are counted instead: gateway_requests_unauthenticated_total{reason}.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { metricSum } from '../support/prometheus.ts'
import { randomSpanId, traceparent } from '../telemetry/helpers.ts'
import { allSpans, call, CHAT, waitForTrace } from '../traces/helpers.ts'

t.setTimeout(600_000)

const KEY = 'k-real-caller-0123'
const auth = { authorization: `Bearer ${KEY}` }
const receiver = await startOtlpReceiver()
const gateway = await startGateway({
  timeoutMs: 300_000,
  env: { GATEWAY_API_KEYS: KEY, HOST: '127.0.0.1', TRACE_STORE_MAX_TRACES: '5', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
})
t.teardown(async () => {
  await gateway.stop()
  await receiver.close()
})

/** A real caller's chat completion, whole in the store and at the receiver; returns its trace id. */
async function realTrace(headers: Record<string, string> = {}): Promise<string> {
  const answer = await call(`${gateway.url}/v1/chat/completions`, { body: CHAT, headers: { ...auth, ...headers } })
  if (answer.status !== 200) throw new Error(`a real call failed: ${answer.status} ${answer.text.slice(0, 200)}`)
  const traceId = answer.json.trace_context.trace_id as string
  await waitForTrace(gateway.url, traceId, undefined, auth, 60_000)
  await receiver.waitForSpans((s) => s.traceId === traceId && s.kind === 'SERVER', 1, 60_000)
  return traceId
}

/** Sends `count` requests, `concurrency` at a time. */
async function flood(count: number, concurrency: number, send: (i: number) => Promise<Response>): Promise<number[]> {
  const statuses: number[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const response = await send(next++)
        statuses.push(response.status)
        await response.arrayBuffer()
      }
    }),
  )
  return statuses
}

async function unauthenticatedCount(reason: string): Promise<number> {
  const response = await fetch(`${gateway.url}/metrics`, { headers: auth })
  return metricSum(await response.text(), 'gateway_requests_unauthenticated_total', { reason })
}

t.test('1,000 unauthenticated requests do not evict a real trace from a 5-trace store', async (t) => {
  const real = await realTrace()
  const [missingBefore, invalidBefore] = [await unauthenticatedCount('missing'), await unauthenticatedCount('invalid')]
  const statuses = await flood(1000, 20, (i) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(i % 2 ? { authorization: `Bearer guess-${i}` } : {}) },
      body: JSON.stringify(CHAT),
    }),
  )
  t.equal(statuses.filter((s) => s === 401).length, 1000, 'every one is a 401')
  const stored = await call(`${gateway.url}/v1/traces/${real}`, { headers: auth })
  t.equal(stored.status, 200, 'the real trace is still in the store')
  const list = await call(`${gateway.url}/v1/traces`, { headers: auth })
  t.same(
    list.json.data.map((d: { trace_id: string }) => d.trace_id),
    [real],
    'the store holds the real trace only: the 401s left nothing',
  )
  t.equal(await unauthenticatedCount('missing'), missingBefore + 500, 'counted: 500 without a key')
  t.equal(await unauthenticatedCount('invalid'), invalidBefore + 500, 'counted: 500 with a wrong key')
})

t.test("a 401 carrying a victim's traceparent adds nothing to the victim's trace", async (t) => {
  const victim = await realTrace()
  const before = receiver.spans.filter((s) => s.traceId === victim).map((s) => s.spanId).sort()
  const storedBefore = allSpans(await waitForTrace(gateway.url, victim, undefined, auth)).length
  const forged = { traceparent: traceparent(victim, randomSpanId()), tracestate: 'attacker=1' }
  for (const [path, method] of [['/v1/chat/completions', 'POST'], ['/v1/models', 'GET'], ['/v1/nope', 'GET'], ['/metrics', 'GET']] as const) {
    for (const headers of [forged, { ...forged, authorization: 'Bearer wrong-key' }]) {
      const response = await fetch(`${gateway.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: method === 'POST' ? JSON.stringify(CHAT) : undefined,
      })
      const body = (await response.json()) as { trace_context: unknown }
      t.equal(response.status, 401, `${method} ${path} is refused`)
      t.equal(body.trace_context, null, 'no trace ids in the body')
      t.equal(response.headers.get('traceresponse'), null, 'no traceresponse header naming the victim')
    }
  }
  // Spans are exported in the order they end: once a later real request's spans are in, any
  // span the 401s had made would be in too.
  await realTrace()
  t.same(receiver.spans.filter((s) => s.traceId === victim).map((s) => s.spanId).sort(), before, 'no new span at the collector')
  const storedAfter = allSpans((await call(`${gateway.url}/v1/traces/${victim}`, { headers: auth })).json)
  t.equal(storedAfter.length, storedBefore, 'no new span in the stored trace')
})

t.test('the same traceparent with a valid key does join the trace (the check is on the key)', async (t) => {
  const parent = await realTrace()
  const answer = await call(`${gateway.url}/v1/chat/completions`, {
    body: CHAT,
    headers: { ...auth, traceparent: traceparent(parent, randomSpanId()) },
  })
  t.equal(answer.json.trace_context.trace_id, parent, 'the authenticated caller continues its trace')
})
