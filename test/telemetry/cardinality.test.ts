// Issue 10, defect 5: callers who invent names must not grow /metrics without end. 200 distinct
// unknown-but-routable model names (`gpt-x-<n>`, answered by the OpenAI emulator) and 200
// evaluation names with 600 criteria: the metrics keep the first 50 of each (SERIES_LIMIT) and
// count the rest under the overflow series `otel_metric_overflow="true"`, across scrapes (the
// SDK's own limit starts over at every collection), while every span keeps its real name.
import t from 'tap'
import { parsePrometheus, scrapeMetrics, select, type Exposition } from '../support/prometheus.ts'
import { postChat, randomSpanId, randomTraceId, startObservedGateway, WAIT_MS } from './helpers.ts'

t.setTimeout(180_000)

const LIMIT = 50
const { gateway, receiver, upstream } = await startObservedGateway(t)
upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })

const hi = [{ role: 'user', content: 'hi' }]
const OVERFLOW = { otel_metric_overflow: 'true' }
/** Model names of the first test, each answered 404 upstream. */
const JUNK = 60

/** Chat with models gpt-x-<from> … gpt-x-<to - 1>, scraping /metrics after every 20. */
async function chatWithModels(from: number, to: number): Promise<void> {
  for (let n = from; n < to; n += 20) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(20, to - n) }, (_, i) => postChat(gateway.url, { model: `gpt-x-${n + i}`, messages: hi })),
    )
    if (answers.some((a) => a.status !== 200)) throw new Error(`chat answered ${answers.map((a) => a.status).join(',')}`)
    await scrapeMetrics(gateway.url)
  }
}

const labelValues = (exposition: Exposition, metric: string, label: string) =>
  new Set(select(exposition, metric).flatMap((s) => (s.labels[label] === undefined ? [] : [s.labels[label]])))
const sum = (exposition: Exposition, metric: string, labels: Record<string, string> = {}) =>
  select(exposition, metric, labels).reduce((n, s) => n + s.value, 0)

t.test('model names that only ever fail use up none of the budget: their failures overflow', async (t) => {
  upstream.setDefault({ fixture: 'openai-chat-error-404-model-not-found-on-stream-request' })
  const answers = await Promise.all(Array.from({ length: JUNK }, (_, n) => postChat(gateway.url, { model: `gpt-junk-${n}`, messages: hi })))
  upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
  t.same([...new Set(answers.map((a) => a.status))], [404], 'each an upstream 404')
  const exposition = parsePrometheus(await scrapeMetrics(gateway.url))
  t.same([...labelValues(exposition, 'llm_requests_total', 'llm_model')], [], 'no junk name got series')
  t.equal(sum(exposition, 'llm_requests_failed_total', OVERFLOW), JUNK, 'every failure counted, under the overflow series')
  // The 50 models of the next test still get series of their own.
})

t.test('200 invented model names: 50 get series, the rest one overflow series, and /metrics stops growing', async (t) => {
  await chatWithModels(0, 100)
  const half = await scrapeMetrics(gateway.url)
  await chatWithModels(100, 200)
  const text = await scrapeMetrics(gateway.url)
  const exposition = parsePrometheus(text)

  t.equal(parsePrometheus(half).samples.length, exposition.samples.length, 'the second 100 models (scraped every 20) added no series')
  t.equal(labelValues(exposition, 'llm_requests_total', 'llm_model').size, LIMIT, `llm_requests_total names ${LIMIT} models`)
  // (JUNK failed requests of the test above are in the overflow series too.)
  t.equal(sum(exposition, 'llm_requests_total'), 200 + JUNK, 'every request is still counted')
  t.equal(sum(exposition, 'llm_requests_total', OVERFLOW), 200 - LIMIT + JUNK, 'the others under otel_metric_overflow="true"')
  t.same(Object.keys(select(exposition, 'llm_requests_total', OVERFLOW)[0]?.labels ?? {}), ['otel_metric_overflow'], 'the overflow series has no other label')
  // The same models overflow on every llm_* metric, so tokens / requests still pair up.
  t.same(labelValues(exposition, 'llm_tokens_input_total', 'llm_model'), labelValues(exposition, 'llm_requests_total', 'llm_model'))
  t.equal(sum(exposition, 'llm_tokens_input_total', OVERFLOW), 15 * (200 - LIMIT), 'their tokens too (15 each, recorded)')
  t.equal(sum(exposition, 'llm_request_duration_seconds_count', OVERFLOW), 200 - LIMIT + JUNK, 'and their durations')
  t.ok(labelValues(exposition, 'gen_ai_client_operation_duration_count', 'gen_ai_request_model').size <= LIMIT, 'gen_ai histograms bounded too')
  t.equal(sum(exposition, 'gen_ai_client_operation_duration_count'), 200 + JUNK, 'with every operation counted')
  t.ok(sum(exposition, 'gen_ai_client_operation_duration_count', OVERFLOW) >= 200 - LIMIT, 'the rest in their overflow series')

  // The span is not bounded: it names the model it was called with.
  const [span] = await receiver.waitForSpans((s) => s.name === 'llm.request' && s.attributes['llm.model'] === 'gpt-x-199', 1, WAIT_MS)
  t.equal(span?.attributes['gen_ai.request.model'], 'gpt-x-199', 'the 200th model on its span')
  // The OTLP export reads the same points.
  const pushed = await receiver.waitFor(() => {
    const points = receiver.latestMetric('llm.requests')?.dataPoints ?? []
    const overflow = points.find((p) => p.attributes['otel.metric.overflow'] === true)
    return overflow?.value === 200 - LIMIT + JUNK && points
  }, WAIT_MS)
  t.equal(pushed.length, LIMIT + 1, `OTLP: ${LIMIT} models and the overflow point`)
})

t.test('200 invented evaluation names with 600 criteria: bounded the same way', async (t) => {
  const target = { trace_id: randomTraceId(), span_id: randomSpanId() }
  for (let b = 0; b < 20; b++) {
    const batch = Array.from({ length: 10 }, (_, i) => ({
      ...target,
      name: `eval-${b}-${i}`,
      scores: { [`accuracy_${b}_${i}`]: 0.5, [`clarity_${b}_${i}`]: 3, [`tone_${b}_${i}`]: 0.9 },
    }))
    const response = await fetch(`${gateway.url}/v1/evaluations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    })
    t.equal(response.status, 200, `batch ${b}`)
    await scrapeMetrics(gateway.url)
  }
  const text = await scrapeMetrics(gateway.url)
  const exposition = parsePrometheus(text)
  t.equal(labelValues(exposition, 'llm_evaluations_total', 'evaluation_name').size, LIMIT, `llm_evaluations_total names ${LIMIT} evaluations`)
  t.equal(sum(exposition, 'llm_evaluations_total'), 200, 'every evaluation is counted')
  t.equal(sum(exposition, 'llm_evaluations_total', OVERFLOW), 200 - LIMIT)
  const pairs = new Set(select(exposition, 'llm_evaluation_score_count').filter((s) => s.labels.criterion).map((s) => `${s.labels.evaluation_name}/${s.labels.criterion}`))
  t.equal(pairs.size, LIMIT, `llm_evaluation_score keeps ${LIMIT} (evaluation, criterion) pairs`)
  t.equal(sum(exposition, 'llm_evaluation_score_count'), 600, 'every score is counted')
  t.equal(sum(exposition, 'llm_evaluation_score_count', OVERFLOW), 600 - LIMIT)

  // Both families are full now: this is as large as /metrics gets with names like these.
  const bytes = Buffer.byteLength(text)
  t.ok(bytes < 1024 * 1024, `/metrics is ${(bytes / 1024).toFixed(0)} KiB, under 1 MiB (was 2.3 MiB for these 200 models alone before the bound)`)

  const [span] = await receiver.waitForSpans((s) => s.name === 'evaluation eval-19-9', 1, WAIT_MS)
  t.equal(span?.attributes['evaluation.tone_19_9.score'], 0.9, 'the span keeps the name and criterion over the bound')
})
