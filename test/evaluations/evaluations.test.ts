// POST /v1/evaluations, the guide's "time-separated evaluation" for callers without OpenTelemetry:
// a generation goes through the upstream emulator, its ids are kept, an evaluation is posted
// later, and the OTLP receiver gets an `evaluation <name>` span whose link carries the
// generation's trace and span ids and the caller's link attributes; metrics in /metrics.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { GatewayProcess } from '../support/gateway.ts'
import { startGateways } from '../telemetry/helpers.ts'
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { startUpstream } from '../support/upstream.ts'
import { call, waitForTrace, type Json } from '../traces/helpers.ts'

t.setTimeout(120_000)

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const [gateway, telemetryOff] = (await startGateways([
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OPENAI_API_KEY: 'sk-test-evaluations', OPENAI_BASE_URL: upstream.openaiBaseURL } },
  { env: { OTEL_SDK_DISABLED: 'true' } },
])) as [GatewayProcess, GatewayProcess]
t.teardown(async () => {
  await Promise.all([gateway.stop(), telemetryOff.stop()])
  await Promise.all([receiver.close(), upstream.close()])
})

const WAIT_MS = 20_000
const evaluate = (body: unknown, url = gateway.url) => call(`${url}/v1/evaluations`, { body })

/** A real generation: the recorded OpenAI exchange replayed by the emulator, through the gateway. */
async function generation(): Promise<{ traceId: string; spanId: string }> {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const answer = await call(`${gateway.url}/v1/chat/completions`, {
    body: { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'Tell me a joke about opentelemetry' }] },
  })
  t.equal(answer.status, 200, answer.text.slice(0, 300))
  return { traceId: answer.json.trace_context.trace_id, spanId: answer.json.trace_context.span_id }
}

const evaluationSpans = (predicate: (s: ReceivedSpan) => boolean = () => true) =>
  receiver.spans.filter((s) => s.name.startsWith('evaluation ') && predicate(s))

t.test('an evaluation posted later is a span linked to the exact generation', async (t) => {
  const target = await generation()
  const [llmRequest] = await receiver.waitForSpans((s) => s.traceId === target.traceId && s.name === 'llm.request', 1, WAIT_MS)
  t.equal(llmRequest!.spanId, target.spanId, 'the kept span_id is the llm.request span')
  await sleep(300) // "hours later", in a test's terms: the generation's trace is long finished

  const answer = await evaluate({
    trace_id: target.traceId.toUpperCase(), // ids are read case-insensitively
    span_id: target.spanId,
    name: 'helpfulness',
    scores: { accuracy: 0.75, clarity: 4 },
    label: 'pass',
    comment: 'Funny enough.',
    attributes: { case_id: 47, evaluator: 'llm-judge', 'evaluation.system': 'quality_checker', strict: true },
  })
  t.equal(answer.status, 200, answer.text)
  t.match(answer.json, {
    object: 'evaluation',
    id: /^eval_[0-9a-f]{24}$/,
    name: 'helpfulness',
    target: { trace_id: target.traceId, span_id: target.spanId },
    trace_context: { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ },
  })
  const own = answer.json.trace_context
  t.not(own.trace_id, target.traceId, 'the evaluation has its own trace')
  t.equal(answer.headers.get('x-trace-id'), own.trace_id)
  t.equal(answer.headers.get('x-span-id'), own.span_id, 'x-span-id is the evaluation span')
  t.equal(answer.headers.get('traceresponse'), `00-${own.trace_id}-${own.span_id}-01`)

  const [span] = await receiver.waitForSpans((s) => s.spanId === own.span_id, 1, WAIT_MS)
  t.equal(span!.name, 'evaluation helpfulness')
  t.equal(span!.kind, 'INTERNAL')
  t.same(span!.links, [
    {
      traceId: target.traceId,
      spanId: target.spanId,
      attributes: { case_id: 47, evaluator: 'llm-judge', 'evaluation.system': 'quality_checker', strict: true, 'link.type': 'evaluation' },
    },
  ], 'one link: the generation, with link.type=evaluation and the caller attributes')
  t.hasStrict(span!.attributes, {
    'evaluation.id': answer.json.id,
    'evaluation.name': 'helpfulness',
    'evaluation.accuracy.score': 0.75,
    'evaluation.clarity.score': 4,
    'evaluation.label': 'pass',
    'evaluation.comment': 'Funny enough.',
    'evaluation.target.trace_id': target.traceId,
    'evaluation.target.span_id': target.spanId,
    'gen_ai.evaluation.name': 'helpfulness',
    'gen_ai.evaluation.score.label': 'pass',
    'gen_ai.evaluation.explanation': 'Funny enough.',
  })
  t.notOk('gen_ai.evaluation.score.value' in span!.attributes, 'no single GenAI score for two criteria')
  const [server] = await receiver.waitForSpans((s) => s.traceId === own.trace_id && s.kind === 'SERVER', 1, WAIT_MS)
  t.equal(span!.parentSpanId, server!.spanId, 'child of the POST /v1/evaluations server span')
  t.equal(server!.name, 'POST /v1/evaluations')

  const document = await waitForTrace(gateway.url, target.traceId, (d) => d.evaluations.length > 0)
  t.match(document.evaluations, [
    {
      id: answer.json.id,
      name: 'helpfulness',
      scores: { accuracy: 0.75, clarity: 4 },
      label: 'pass',
      comment: 'Funny enough.',
      target: { trace_id: target.traceId, span_id: target.spanId },
      link_attributes: { case_id: 47, 'link.type': 'evaluation' },
      trace_context: own,
    },
  ], 'GET /v1/traces/{generation} lists the evaluation')
  t.equal(document.summary.evaluation_count, 1)
})

t.test('a trace the gateway never held (or evicted long ago) can be evaluated', async (t) => {
  const traceId = randomBytes(16).toString('hex')
  const spanId = randomBytes(8).toString('hex')
  t.equal((await call(`${gateway.url}/v1/traces/${traceId}`)).status, 404, 'not in the store')
  const answer = await evaluate({ trace_id: traceId, span_id: spanId, name: 'human-review', scores: { overall: 2 } })
  t.equal(answer.status, 200, answer.text)
  const [span] = await receiver.waitForSpans((s) => s.spanId === answer.json.trace_context.span_id, 1, WAIT_MS)
  t.match(span!.links, [{ traceId, spanId, attributes: { 'link.type': 'evaluation' } }])
  t.equal(span!.attributes['gen_ai.evaluation.score.value'], 2, 'one criterion: also the GenAI score')
})

t.test('a batch: one span per evaluation, answered as a list', async (t) => {
  const target = await generation()
  const batch = ['relevance', 'safety', 'style'].map((name, i) => ({ trace_id: target.traceId, span_id: target.spanId, name, scores: { score: i / 2 } }))
  const answer = await evaluate(batch)
  t.equal(answer.status, 200, answer.text)
  t.equal(answer.json.object, 'list')
  t.same(answer.json.data.map((e: Json) => e.name), ['relevance', 'safety', 'style'])
  t.same(answer.json.trace_context, answer.json.data[0].trace_context, 'the top-level trace_context is the first evaluation')
  t.equal(answer.headers.get('x-span-id'), answer.json.data[0].trace_context.span_id)
  const spanIds = answer.json.data.map((e: Json) => e.trace_context.span_id as string)
  t.equal(new Set(spanIds).size, 3)
  const spans = await receiver.waitForSpans((s) => spanIds.includes(s.spanId), 3, WAIT_MS)
  t.equal(new Set(spans.map((s) => s.parentSpanId)).size, 1, 'all children of the one request')
  for (const span of spans) t.equal(span.links[0]?.spanId, target.spanId)
  const document = await waitForTrace(gateway.url, target.traceId, (d) => d.evaluations.length === 3)
  t.same(document.evaluations.map((e: Json) => e.name).sort(), ['relevance', 'safety', 'style'])
})

t.test('bad ids, names and scores: 400 naming the field, nothing recorded', async (t) => {
  const good = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), name: 'quality', scores: { overall: 1 } }
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['short trace_id', { ...good, trace_id: 'abc' }, 'trace_id', /32 hexadecimal characters/],
    ['non-hex trace_id', { ...good, trace_id: 'z'.repeat(32) }, 'trace_id', /32 hexadecimal characters/],
    ['all-zero trace_id', { ...good, trace_id: '0'.repeat(32) }, 'trace_id', /all zeros/],
    ['long span_id', { ...good, span_id: 'b'.repeat(17) }, 'span_id', /16 hexadecimal characters/],
    ['all-zero span_id', { ...good, span_id: '0'.repeat(16) }, 'span_id', /all zeros/],
    ['numeric trace_id', { ...good, trace_id: 12 }, 'trace_id', /must be string/],
    ['missing span_id', { trace_id: good.trace_id, name: 'q', scores: { a: 1 } }, 'span_id', /Missing required field/],
    ['missing scores', { ...good, scores: undefined }, 'scores', /Missing required field/],
    ['no criterion', { ...good, scores: {} }, 'scores', /fewer than 1 properties/],
    ['a score that is text', { ...good, scores: { overall: 'great' } }, 'scores.overall', /must be number/],
    ['an infinite score', `{"trace_id":"${good.trace_id}","span_id":"${good.span_id}","name":"q","scores":{"overall":1e999}}`, 'scores.overall', /must be number|finite/],
    ['a criterion with a space', { ...good, scores: { 'over all': 1 } }, 'scores', /criterion "over all"/],
    ['an empty name', { ...good, name: '' }, 'name', /fewer than 1 characters/],
    ['a name with markup', { ...good, name: '<b>x</b>' }, 'name', /must match pattern/],
    ['a label too long', { ...good, label: 'l'.repeat(129) }, 'label', /more than 128 characters/],
    ['an attribute that is an object', { ...good, attributes: { nested: { a: 1 } } }, 'attributes.nested', /must be a string, a number or a boolean/],
    ['an attribute that is a list', { ...good, attributes: { tags: ['a'] } }, 'attributes.tags', /must be a string, a number or a boolean/],
    ['an attribute that is null', { ...good, attributes: { gone: null } }, 'attributes.gone', /must be a string, a number or a boolean/],
    ['a batch with one bad attribute', [good, { ...good, attributes: { nested: {} } }], '[1].attributes.nested', /must be a string, a number or a boolean/],
    ['a batch with one bad id', [good, { ...good, trace_id: 'x' }], '[1].trace_id', /32 hexadecimal characters/],
    ['a batch with one bad score', [good, good, { ...good, scores: { s: '1' } }], '[2].scores.s', /must be number/],
    ['an empty batch', [], 'body', /fewer than 1 items|must be object/],
  ]
  const before = evaluationSpans().length
  for (const [what, body, param, message] of cases) {
    const answer = await evaluate(body)
    t.equal(answer.status, 400, `${what}: 400 (${answer.text.slice(0, 200)})`)
    t.equal(answer.json.error?.type, 'invalid_request_error', what)
    if (param !== 'body') t.equal(answer.json.error?.param, param, `${what}: names ${param}`)
    t.match(answer.json.error?.message, message, `${what}: says why`)
    t.match(answer.json.trace_context, { trace_id: /^[0-9a-f]{32}$/ }, `${what}: still carries trace_context`)
  }
  await sleep(500)
  t.equal(evaluationSpans().length, before, 'no evaluation span for any refused request, batches included')
})

t.test('metrics: llm_evaluations_total and the score histogram in /metrics and over OTLP', async (t) => {
  const target = await generation()
  for (const score of [0.2, 0.9]) {
    const answer = await evaluate({ trace_id: target.traceId, span_id: target.spanId, name: 'metric-check', scores: { accuracy: score, tone: 3 } })
    t.equal(answer.status, 200)
  }
  const text = await (await fetch(`${gateway.url}/metrics`)).text()
  t.match(text, /# TYPE llm_evaluations_total counter/)
  t.match(text, /llm_evaluations_total\{evaluation_name="metric-check"\} 2\b/)
  t.match(text, /# TYPE llm_evaluation_score histogram/)
  t.match(text, /llm_evaluation_score_count\{evaluation_name="metric-check",criterion="accuracy"\} 2\b/)
  t.match(text, /llm_evaluation_score_sum\{evaluation_name="metric-check",criterion="accuracy"\} 1\.1/)
  t.match(text, /llm_evaluation_score_bucket\{evaluation_name="metric-check",criterion="accuracy",le="0\.2"\} 1\b/)
  t.match(text, /llm_evaluation_score_count\{evaluation_name="metric-check",criterion="tone"\} 2\b/)

  const counter = await receiver.waitFor(() => {
    const metric = receiver.latestMetric('llm.evaluations')
    const point = metric?.dataPoints.find((p) => p.attributes.evaluation_name === 'metric-check')
    return point?.value === 2 && metric
  }, WAIT_MS)
  t.match(counter, { type: 'sum', isMonotonic: true, unit: '{evaluation}' }, 'a monotonic counter: _total on both export paths')
  const histogram = receiver.latestMetric('llm.evaluation.score')
  t.equal(histogram?.type, 'histogram')
  t.equal(histogram?.unit, '', 'no unit: llm_evaluation_score through the Collector too')
  t.ok(histogram?.dataPoints[0]?.explicitBounds?.includes(0.5), 'explicit score buckets, not the SDK millisecond default')
})

t.test('with telemetry off there is nowhere to record: 503 that says so', async (t) => {
  const answer = await evaluate({ trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), name: 'q', scores: { a: 1 } }, telemetryOff.url)
  t.equal(answer.status, 503)
  t.match(answer.json.error, { code: 'telemetry_disabled', message: /OTEL_SDK_DISABLED=true/ })
  const bad = await evaluate({ trace_id: 'nope', span_id: 'b'.repeat(16), name: 'q', scores: { a: 1 } }, telemetryOff.url)
  t.equal(bad.status, 400, 'a bad body is still a 400 first')
})

t.test('start-up is quiet about the schema: no ajv strict-mode lines', async (t) => {
  // Fastify compiles every route schema before listening; both gateways have answered by now.
  for (const g of [gateway, telemetryOff]) {
    t.same(g.lines.filter((line) => /strict mode|allowUnionTypes/i.test(line)), [], 'no "strict mode: use allowUnionTypes"')
  }
})
