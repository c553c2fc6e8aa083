// Issue 10: what a user sees on the HTTP surface besides the LLM routes. GET /v1/models/{id},
// 405 for a known path asked with the wrong method, `/` leading somewhere; spans of unmatched
// routes named without the caller's URL (defect 4), and a failed request's trace saying why.
import t from 'tap'
import OpenAI from 'openai'
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { startGateways } from '../telemetry/helpers.ts'
import { allSpans, call, waitForTrace, type Json } from '../traces/helpers.ts'

t.setTimeout(600_000)

const receiver = await startOtlpReceiver()
const [gateway, storeOff] = await startGateways([
  { timeoutMs: 300_000, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } },
  { timeoutMs: 300_000, env: { TRACE_STORE_MAX_TRACES: '0' } },
])
t.teardown(async () => {
  await Promise.all([gateway!.stop(), storeOff!.stop()])
  await receiver.close()
})
const url = gateway!.url

/** The HTTP SERVER span of the trace the answer names, once it reached the receiver. */
async function serverSpan(traceId: string): Promise<ReceivedSpan> {
  const [span] = await receiver.waitForSpans((s) => s.traceId === traceId && s.kind === 'SERVER', 1, 60_000)
  return span!
}

t.test('GET /v1/models/{id}: OpenAI retrieve shape, with the SDK', async (t) => {
  const client = gateway!.client()
  const model = await client.models.retrieve('demo-chat')
  t.equal(model.id, 'demo-chat')
  t.equal(model.object, 'model')
  t.type(model.created, 'number')
  t.type(model.owned_by, 'string')
  const listed = await client.models.list()
  for (const entry of listed.data) {
    const one = await call(`${url}/v1/models/${encodeURIComponent(entry.id)}`)
    t.same(one.json, entry, `${entry.id} is retrieved as listed`)
  }
  const missing = await client.models.retrieve('no-such-model').catch((error: unknown) => error)
  t.ok(missing instanceof OpenAI.NotFoundError, 'an unknown model is a 404 the SDK understands')
  const body = await call(`${url}/v1/models/no-such-model`)
  t.equal(body.json.error.code, 'model_not_found')
  t.equal(body.json.error.type, 'invalid_request_error')
  t.match(body.json.error.message, /no-such-model/)
})

t.test('a known path with the wrong method is a 405 with `allow`, in OpenAI error shape', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['GET', '/v1/chat/completions', /^POST$/],
    ['PUT', '/v1/chat/completions', /^POST$/],
    ['DELETE', '/v1/models', /GET/],
    ['POST', '/v1/models/demo-chat', /GET/],
    ['GET', '/v1/agents/reasoning', /^POST$/],
    ['POST', '/health', /GET/],
  ]
  for (const [method, path, allow] of cases) {
    const answer = await call(`${url}${path}`, { method })
    t.equal(answer.status, 405, `${method} ${path} is a 405`)
    t.match(answer.headers.get('allow'), allow, `allow: ${answer.headers.get('allow')}`)
    t.equal(answer.json.error.code, 'method_not_allowed')
    t.equal(answer.json.error.type, 'invalid_request_error')
    t.match(answer.json.error.message, new RegExp(`${method}.*${path.replaceAll('/', '\\/')}`))
    // /health is never traced (probes would flood the store); the API routes are.
    if (path !== '/health') t.match(answer.json.trace_context?.trace_id, /^[0-9a-f]{32}$/, 'traced like any API error')
  }
  const unknown = await call(`${url}/v1/nothing-here`, { method: 'POST', body: {} })
  t.equal(unknown.status, 404, 'an unknown path stays a 404')
})

t.test('GET / leads to /traces; with the store off, to a small JSON index', async (t) => {
  const response = await fetch(`${url}/`, { redirect: 'manual' })
  t.equal(response.status, 302)
  t.equal(response.headers.get('location'), '/traces')
  await response.arrayBuffer()
  const index = await call(`${storeOff!.url}/`)
  t.equal(index.status, 200)
  t.ok(index.json.endpoints.includes('POST /v1/chat/completions'), 'it names the routes')
  t.match(index.json.traces, /TRACE_STORE_MAX_TRACES=0/)
})

t.test('an unmatched route: span named by the method alone, no query values exported', async (t) => {
  const secret = 'sk-leak-me-0123456789'
  const answer = await call(`${url}/nope/${'x'.repeat(20)}?api_key=${secret}&user=me&${secret}=1`)
  t.equal(answer.status, 404)
  t.notMatch(answer.json.error.message, secret, 'not echoed to the caller either')
  const span = await serverSpan(answer.json.trace_context.trace_id)
  t.equal(span.name, 'GET', 'a fixed name, not the raw URL')
  t.notOk('http.route' in span.attributes, 'no http.route: nothing matched')
  t.equal(span.attributes['url.query'], 'api_key=REDACTED&user=REDACTED&REDACTED=REDACTED', 'plain names kept, values and a key-shaped name replaced')
  const exported = JSON.stringify(span, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))
  t.notMatch(exported, secret, 'the secret is nowhere in the exported span')
  const log = gateway!.logs().find((l) => l.msg === 'request' && typeof l.url === 'string' && l.url.startsWith('/nope/'))
  t.equal(log?.url, `/nope/${'x'.repeat(20)}`, 'the log line has the path without the query string')
  t.notMatch(gateway!.lines.join('\n'), secret, 'nor anywhere in the logs')
})

t.test('a matched route keeps its template as span name', async (t) => {
  const answer = await call(`${url}/v1/models/demo-chat?x=1`)
  const span = await serverSpan(answer.headers.get('x-trace-id')!)
  t.equal(span.name, 'GET /v1/models/*')
  t.equal(span.attributes['http.route'], '/v1/models/*')
})

/** The error a failed request's trace must state, at the collector and in the gateway's store. */
async function expectFailedTrace(t: Test, answer: Json, expected: { errorType: string; model?: string; message: RegExp }) {
  const traceId = answer.json.trace_context.trace_id as string
  const span = await serverSpan(traceId)
  // HTTP semconv: a SERVER span is ERROR for a 5xx; a 4xx (the caller's mistake) leaves it unset.
  const failed = answer.status >= 500
  t.equal(span.status.code, failed ? 'ERROR' : 'UNSET', `status ${failed ? 'ERROR' : 'unset'} for a ${answer.status}`)
  if (failed) t.match(span.status.message, expected.message, `status message: ${span.status.message}`)
  t.match(span.attributes['error.message'], expected.message, `error.message: ${String(span.attributes['error.message'])}`)
  t.equal(span.attributes['error.type'], expected.errorType, 'error.type is the gateway error kind, not the status code')
  t.equal(span.attributes['gen_ai.request.model'], expected.model, `gen_ai.request.model is ${expected.model}`)
  const stored = allSpans(await waitForTrace(url, traceId)).find((s) => s.kind === 'SERVER')!
  t.equal(stored.status.code, failed ? 'ERROR' : 'UNSET')
  t.match(stored.attributes['error.message'], expected.message, 'the X-ray page can say why')
  t.equal(stored.attributes['error.type'], expected.errorType)
  const page = await (await fetch(`${url}/traces/${traceId}`)).text()
  t.match(page, /class="status-message">⚠ [^<]+/, 'and does, above the span\'s attributes')
}

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

t.test("a failed request's trace says why: provider not configured (503)", async (t) => {
  const answer = await call(`${url}/v1/chat/completions`, { body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } })
  t.equal(answer.status, 503)
  await expectFailedTrace(t, answer, { errorType: 'unavailable', model: 'gpt-4o-mini', message: /OPENAI_API_KEY/ })
})

t.test("a failed request's trace says why: unknown model (404)", async (t) => {
  const answer = await call(`${url}/v1/chat/completions`, { body: { model: 'mystery-model', messages: [{ role: 'user', content: 'hi' }] } })
  t.equal(answer.status, 404)
  await expectFailedTrace(t, answer, { errorType: 'model_not_found', model: 'mystery-model', message: /mystery-model/ })
})

t.test("a failed request's trace says why: invalid body (400)", async (t) => {
  const answer = await call(`${url}/v1/chat/completions`, { body: { model: 'demo-chat', messages: 'not a list' } })
  t.equal(answer.status, 400)
  await expectFailedTrace(t, answer, { errorType: 'invalid_request', model: 'demo-chat', message: /messages/ })
})
