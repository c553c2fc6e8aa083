// SPEC §1 "Trace lookup": the trace_id an answer carries leads to its span tree, with no tracing
// backend at all — GET /v1/traces/{id} for a real chat and agent trace of the demo provider, the
// 404s that say why, the store's bounds seen from outside, the pages' headers, auth, and the
// Link header to TRACE_UI_URL on every kind of answer (JSON, SSE, errors).
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { startGateway, type GatewayProcess } from '../support/gateway.ts'
import { startGateways } from '../telemetry/helpers.ts'
import { sseEvents } from '../support/upstream.ts'
import { allSpans, call, CHAT, SOLVE, waitForTrace, type Json } from './helpers.ts'

t.setTimeout(180_000)

const JAEGER = 'http://localhost:16686/trace/{trace_id}'
const STARTUP = { timeoutMs: 45_000 }
const preload = fileURLToPath(new URL('../telemetry/fixtures/preload-otel.mjs', import.meta.url))
const gateways = await startGateways([
  { env: { TRACE_UI_URL: JAEGER } },
  { env: { TRACE_STORE_MAX_TRACES: '3' } },
  { env: { GATEWAY_API_KEYS: 'k-trace-secret', HOST: '127.0.0.1' } },
  { env: { TRACE_STORE_MAX_TRACES: '0' } },
  { nodeArgs: ['--import', preload], env: { OPERATOR_OTLP_URL: 'http://127.0.0.1:9' } },
  { env: { OTEL_SDK_DISABLED: 'true' } },
])
const [gateway, small, keyed, storeOff, preloaded, telemetryOff] = gateways as [GatewayProcess, GatewayProcess, GatewayProcess, GatewayProcess, GatewayProcess, GatewayProcess]
t.teardown(() => Promise.all(gateways.map((g) => g.stop())))

const linkTo = (traceId: string | null) => `<http://localhost:16686/trace/${traceId}>; rel="trace"`

t.test('a chat completion: its trace_id leads to the span tree as JSON', async (t) => {
  const answer = await call(`${gateway.url}/v1/chat/completions`, { body: CHAT })
  t.equal(answer.status, 200)
  const { trace_id: traceId, span_id: spanId } = answer.json.trace_context
  const document = await waitForTrace(gateway.url, traceId)
  t.equal(document.object, 'trace')
  t.equal(document.trace_id, traceId)
  const [root, ...others] = document.spans
  t.equal(others.length, 0, 'one root')
  t.match(root, { name: 'POST /v1/chat/completions', kind: 'SERVER', parent_span_id: null })
  const request = root.children[0]
  t.match(request, { name: 'llm.request', kind: 'INTERNAL', span_id: spanId, parent_span_id: root.span_id }, 'x-span-id is the llm.request span')
  t.match(request.children[0], { name: 'llm.demo.chat', kind: 'CLIENT' })
  t.hasStrict(request.attributes, {
    'llm.model': 'demo-chat',
    'llm.provider': 'demo',
    'llm.tokens.input': answer.json.usage.prompt_tokens,
    'llm.tokens.output': answer.json.usage.completion_tokens,
    'llm.cost.total': 0,
  })
  for (const span of allSpans(document)) {
    t.match(span, { trace_id: traceId, span_id: /^[0-9a-f]{16}$/, start_time_unix_nano: /^\d+$/, duration_ms: Number, status: { code: 'UNSET' } })
  }
  t.match(document.summary, {
    trace_id: traceId,
    root: 'POST /v1/chat/completions',
    route: '/v1/chat/completions',
    http_status: 200,
    model: 'demo-chat',
    provider: 'demo',
    span_count: 3,
    tokens: { input: answer.json.usage.prompt_tokens, output: answer.json.usage.completion_tokens },
    cost_usd: 0,
    status: 'ok',
    error_count: 0,
    evaluation_count: 0,
  })
  t.ok(document.summary.duration_ms >= request.duration_ms, 'the trace lasts as long as its longest span at least')
  t.same(document.links, { page: `/traces/${traceId}`, ui: `http://localhost:16686/trace/${traceId}` })
  t.same(document.evaluations, [])
})

t.test('an agent run: iterations, the tool call and each llm.request subtree', async (t) => {
  const answer = await call(`${gateway.url}/v1/agents/reasoning`, { body: SOLVE })
  t.equal(answer.status, 200)
  const traceId = answer.json.trace_context.trace_id
  const document = await waitForTrace(gateway.url, traceId)
  const names = allSpans(document).map((s) => s.name)
  t.same(names, [
    'POST /v1/agents/reasoning',
    'llm.reasoning_agent.stream',
    'reasoning.thinking.iteration_1',
    'llm.request',
    'llm.demo.stream',
    'reasoning.tool.calculator',
    'reasoning.thinking.iteration_2',
    'llm.request',
    'llm.demo.stream',
  ], 'the tree of SPEC §2.1, children in start order')
  const agent = document.spans[0].children[0]
  t.equal(agent.span_id, answer.json.trace_context.span_id, 'x-span-id is the agent span')
  const tool = allSpans(document).find((s) => s.name === 'reasoning.tool.calculator')!
  t.match(tool.attributes, { 'tool.name': 'calculator', 'gen_ai.operation.name': 'execute_tool' })
  t.match(document.summary, { root: 'POST /v1/agents/reasoning', model: 'demo-chat', span_count: 9, status: 'ok' })
  t.equal(document.summary.tokens.input, answer.json.usage.prompt_tokens, 'tokens summed over both model calls')
  t.equal(document.summary.tokens.output, answer.json.usage.completion_tokens)
})

t.test('a failing tool is an error span; the run itself still succeeds', async (t) => {
  const answer = await call(`${gateway.url}/v1/agents/reasoning`, { body: { ...SOLVE, messages: [{ role: 'user', content: 'Solve: 15 / 0' }] } })
  const document = await waitForTrace(gateway.url, answer.json.trace_context.trace_id)
  const tool = allSpans(document).find((s) => s.name === 'reasoning.tool.calculator')!
  t.match(tool.status, { code: 'ERROR', message: /division by zero/ })
  t.match(document.summary, { status: 'ok', error_count: 1 })
})

t.test('unknown, malformed and evicted ids: 4xx that say why', async (t) => {
  const unknown = 'ab'.repeat(16)
  const missing = await call(`${gateway.url}/v1/traces/${unknown}`)
  t.equal(missing.status, 404)
  t.match(missing.json.error, { type: 'invalid_request_error', code: 'trace_not_found' })
  t.match(missing.json.error.message, new RegExp(`Trace ${unknown} is not in the gateway's store of recent traces`))
  t.match(missing.json.error.message, /TRACE_STORE_MAX_TRACES/)
  t.match(missing.json.error.message, /evicted/)
  t.match(missing.json.error.message, `Your tracing backend may still have it: http://localhost:16686/trace/${unknown}`)
  t.equal(missing.headers.get('link'), linkTo(unknown), 'a lookup links to the looked-up trace')

  for (const bad of ['xyz', 'ab'.repeat(15), 'g'.repeat(32)]) {
    const answer = await call(`${gateway.url}/v1/traces/${bad}`)
    t.equal(answer.status, 400, `${bad} is refused`)
    t.match(answer.json.error, { param: 'trace_id', message: /32 hexadecimal characters/ })
  }
  const upper = await call(`${gateway.url}/v1/traces/${unknown.toUpperCase()}`)
  t.equal(upper.status, 404, 'upper-case hex is read as the same id')

  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const answer = await call(`${small.url}/v1/chat/completions`, { body: CHAT })
    ids.push(answer.json.trace_context.trace_id)
    await waitForTrace(small.url, ids[i]!)
  }
  for (const id of ids.slice(0, 2)) {
    const evicted = await call(`${small.url}/v1/traces/${id}`)
    t.equal(evicted.status, 404, 'the oldest are evicted beyond TRACE_STORE_MAX_TRACES=3')
    t.match(evicted.json.error.message, /keeps the latest 3 traces .* it holds 3 now, the oldest started/)
  }
  for (const id of ids.slice(2)) t.equal((await call(`${small.url}/v1/traces/${id}`)).status, 200, 'the latest three are held')
  const list = await call(`${small.url}/v1/traces`)
  t.same(list.json.data.map((s: Json) => s.trace_id), ids.slice(2).reverse(), 'GET /v1/traces: newest first')
  t.match(list.json.store, { traces: 3, max_traces: 3, evicted_traces: 2 })

  const off = await call(`${storeOff.url}/v1/traces/${ids[4]}`)
  t.equal(off.status, 404)
  t.match(off.json.error, { code: 'trace_store_unavailable', message: /disabled \(TRACE_STORE_MAX_TRACES=0\)/ })
  const offPage = await call(`${storeOff.url}/traces`)
  t.equal(offPage.status, 404)
  t.match(offPage.text, /TRACE_STORE_MAX_TRACES=0/)
})

t.test('no store fed (preloaded provider, telemetry off): the lookups say so', async (t) => {
  const chat = await call(`${preloaded.url}/v1/chat/completions`, { body: CHAT })
  const traceId = chat.json.trace_context.trace_id
  t.match(traceId, /^[0-9a-f]{32}$/, 'the preloaded provider still gives ids')
  const lookup = await call(`${preloaded.url}/v1/traces/${traceId}`)
  t.equal(lookup.status, 404)
  t.match(lookup.json.error, { code: 'trace_store_unavailable', message: /TracerProvider the operator preloaded/ })
  const evaluation = await call(`${preloaded.url}/v1/evaluations`, { body: { trace_id: traceId, span_id: chat.json.trace_context.span_id, name: 'q', scores: { a: 1 } } })
  t.equal(evaluation.status, 200, 'evaluations go to the preloaded provider')
  t.match(evaluation.json.trace_context, { span_id: /^[0-9a-f]{16}$/ })

  const off = await call(`${telemetryOff.url}/v1/traces/${'ab'.repeat(16)}`)
  t.equal(off.status, 404)
  t.match(off.json.error.message, /OTEL_SDK_DISABLED=true/)
  const page = await call(`${telemetryOff.url}/traces`)
  t.equal(page.status, 404)
  t.match(page.text, /Telemetry is off/)
})

t.test('many requests at once: every trace complete, no span in the wrong one', async (t) => {
  const answers = await Promise.all(
    Array.from({ length: 24 }, (_, i) => call(`${gateway.url}/v1/chat/completions`, { body: { ...CHAT, stream: i % 2 === 0 } })),
  )
  const traceIds = answers.map((a) =>
    a.json.trace_context?.trace_id ?? sseEvents(a.text).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Json).findLast((c) => c.trace_context)?.trace_context.trace_id,
  )
  t.equal(new Set(traceIds).size, 24, 'one trace each')
  const documents = await Promise.all(traceIds.map((id) => waitForTrace(gateway.url, id)))
  for (const [i, document] of documents.entries()) {
    const spans = allSpans(document)
    t.equal(spans.length, 3, `trace ${i}: server, llm.request, provider call`)
    t.ok(spans.every((s) => s.trace_id === traceIds[i]), `trace ${i}: only its own spans`)
    t.equal(spans[2]!.name, i % 2 === 0 ? 'llm.demo.stream' : 'llm.demo.chat')
  }
})

t.test('the lookups themselves are not traced: looking does not fill the store', async (t) => {
  const answer = await call(`${gateway.url}/v1/chat/completions`, { body: CHAT })
  const traceId = answer.json.trace_context.trace_id
  await waitForTrace(gateway.url, traceId)
  const page = await call(`${gateway.url}/traces/${traceId}`)
  const list = await call(`${gateway.url}/traces`)
  for (const lookup of [page, list]) {
    t.equal(lookup.status, 200)
    t.equal(lookup.headers.get('x-trace-id'), null, 'no trace of its own')
    t.match(lookup.headers.get('content-type'), /^text\/html/)
    t.equal(lookup.headers.get('content-security-policy'), "default-src 'none'; style-src 'unsafe-inline'")
  }
  const recent = await call(`${gateway.url}/v1/traces?limit=1000&all=1`)
  const roots = recent.json.data.map((s: Json) => s.root as string)
  t.notOk(roots.some((root: string) => /traces/.test(root)), `no lookup among the stored traces: ${[...new Set(roots)].join(', ')}`)
  t.match(list.text, traceId, 'the list page names the trace')
  const missing = await call(`${gateway.url}/traces/${'cd'.repeat(16)}`)
  t.equal(missing.status, 404, 'an unknown trace is a 404 page')
  t.match(missing.text, /not in the gateway&#39;s store of recent traces/)
  t.equal((await call(`${gateway.url}/traces/nope`)).status, 400)
  t.equal((await call(`${gateway.url}/v1/traces?limit=0`)).status, 400, 'limit is checked')
})

t.test('GATEWAY_API_KEYS: the lookups need a key like the API', async (t) => {
  const id = 'ef'.repeat(16)
  for (const path of [`/v1/traces/${id}`, '/v1/traces', `/traces/${id}`, '/traces']) {
    const anonymous = await call(`${keyed.url}${path}`)
    t.equal(anonymous.status, 401, `${path} without a key`)
    t.equal(anonymous.json.error?.code, 'missing_api_key')
    const keyedAnswer = await call(`${keyed.url}${path}`, { headers: { authorization: 'Bearer k-trace-secret' } })
    t.not(keyedAnswer.status, 401, `${path} with the key`)
  }
  const chat = await call(`${keyed.url}/v1/chat/completions`, { body: CHAT, headers: { authorization: 'Bearer k-trace-secret' } })
  const document = await waitForTrace(keyed.url, chat.json.trace_context.trace_id, undefined, { authorization: 'Bearer k-trace-secret' })
  t.equal(document.summary.model, 'demo-chat')
})

t.test('TRACE_UI_URL: a Link header to the trace on JSON, SSE and error answers', async (t) => {
  const json = await call(`${gateway.url}/v1/chat/completions`, { body: CHAT })
  t.equal(json.headers.get('link'), linkTo(json.headers.get('x-trace-id')), 'JSON answer')

  const stream = await call(`${gateway.url}/v1/chat/completions`, { body: { ...CHAT, stream: true } })
  t.match(stream.headers.get('content-type'), /text\/event-stream/)
  t.equal(stream.headers.get('link'), linkTo(stream.headers.get('x-trace-id')), 'chat SSE stream (hijacked reply)')

  const agent = await call(`${gateway.url}/v1/agents/reasoning`, { body: { ...SOLVE, stream: true } })
  t.match(agent.headers.get('content-type'), /text\/event-stream/)
  t.equal(agent.headers.get('link'), linkTo(agent.headers.get('x-trace-id')), 'agent SSE stream')

  const invalid = await call(`${gateway.url}/v1/chat/completions`, { body: { model: 'demo-chat' } })
  t.equal(invalid.status, 400)
  t.equal(invalid.headers.get('link'), linkTo(invalid.json.trace_context.trace_id), '400 error answer')

  const unknownModel = await call(`${gateway.url}/v1/chat/completions`, { body: { ...CHAT, model: 'nope-model' } })
  t.equal(unknownModel.status, 404)
  t.equal(unknownModel.headers.get('link'), linkTo(unknownModel.headers.get('x-trace-id')), '404 error answer')

  const models = await call(`${gateway.url}/v1/models`)
  t.equal(models.headers.get('link'), linkTo(models.headers.get('x-trace-id')), 'GET /v1/models')

  const plain = await call(`${small.url}/v1/chat/completions`, { body: CHAT })
  t.equal(plain.headers.get('link'), null, 'no Link without TRACE_UI_URL')
})

t.test('TRACE_UI_URL without {trace_id} stops the start, naming the variable', async (t) => {
  await t.rejects(startGateway({ ...STARTUP, env: { TRACE_UI_URL: 'http://localhost:16686/trace/' } }), /TRACE_UI_URL must contain \{trace_id\}/)
  await t.rejects(startGateway({ ...STARTUP, env: { TRACE_STORE_MAX_BYTES: '12' } }), /TRACE_STORE_MAX_BYTES must be a whole number/)
})
