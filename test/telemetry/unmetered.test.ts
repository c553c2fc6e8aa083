// Issue 10, "found configuring" 1: an OpenAI-compatible server that ignores
// stream_options.include_usage (or answers JSON without `usage`) leaves a call's tokens and cost
// uncounted. That must not be silent: `llm.usage.missing` on the llm.request span,
// llm_requests_unmetered_total, and a warning log line naming the provider and model (once a
// minute per model, with the count). Streamed, not streamed, and through the reasoning agent.
import t from 'tap'
import { loadFixture } from '../support/fixtures.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { chatSpans, postChat, startObservedGateway } from './helpers.ts'

// Real gateway processes on a loaded machine: start-up alone can near tap's 30 s default.
t.setTimeout(120_000)

const { gateway, receiver, upstream } = await startObservedGateway(t)

const hi = [{ role: 'user', content: 'hi' }]
/** The recorded JSON answer (15 in, 19 out) with its `usage` removed. */
const withoutUsage = (() => {
  const body = JSON.parse(loadFixture('openai-chat-text-nonstream').response.body) as Record<string, unknown>
  delete body.usage
  return { status: 200, json: body }
})()

const unmeteredWarnings = (model: string) =>
  gateway.logs().filter((l) => l.level === 40 && l.provider === 'openai' && l.model === model && /without usage/.test(String(l.msg)))
const series = (model: string) => ({ llm_model: model, llm_provider: 'openai' })

async function requestSpan(traceId: string | null) {
  const { request } = await chatSpans(receiver, traceId ?? '', { expected: 3, withServer: false })
  if (!request) throw new Error('no llm.request span')
  return request
}

t.test('a stream without a usage chunk, though the caller asked for one: marked, counted, logged', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-stream-no-usage' })
  const answer = await postChat(gateway.url, { model: 'gpt-3.5-turbo', stream: true, stream_options: { include_usage: true }, messages: hi })
  t.equal(answer.status, 200)
  t.notOk(answer.chunks.some((c) => c.usage), 'the caller gets no usage: there was none')
  const span = await requestSpan(answer.headers.get('x-trace-id'))
  t.equal(span.attributes['llm.usage.missing'], true, 'llm.usage.missing on the span')
  t.notOk('llm.tokens.input' in span.attributes, 'and no token counts')

  const text = await scrapeMetrics(gateway.url)
  t.equal(metricSum(text, 'llm_requests_unmetered_total', series('gpt-3.5-turbo')), 1, 'llm_requests_unmetered_total')
  t.equal(metricSum(text, 'llm_requests_total', series('gpt-3.5-turbo')), 1)
  t.equal(metricSum(text, 'llm_tokens_input_total', series('gpt-3.5-turbo')), 0, 'no tokens counted')

  const [warning, ...more] = unmeteredWarnings('gpt-3.5-turbo')
  t.same(more, [], 'one warning')
  t.match(warning?.msg, /openai\/gpt-3\.5-turbo answered without usage: the tokens and cost of its calls are not counted/)
  t.equal(warning?.unmetered_calls, 1)
})

t.test('a JSON answer without usage: marked and counted; logged once a minute per model, not per call', async (t) => {
  for (let i = 0; i < 3; i++) {
    upstream.enqueue(withoutUsage)
    const answer = await postChat(gateway.url, { model: 'gpt-4o-mini', messages: hi })
    t.equal(answer.status, 200)
    t.notOk(answer.json.usage, 'no usage in the answer')
    const span = await requestSpan(answer.headers.get('x-trace-id'))
    t.equal(span.attributes['llm.usage.missing'], true, `call ${i + 1}: llm.usage.missing`)
  }
  const text = await scrapeMetrics(gateway.url)
  t.equal(metricSum(text, 'llm_requests_unmetered_total', series('gpt-4o-mini')), 3)
  t.equal(unmeteredWarnings('gpt-4o-mini').length, 1, 'one line for three calls within the minute')
})

t.test('a metered answer is not marked', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const answer = await postChat(gateway.url, { model: 'gpt-3.5-turbo', messages: hi })
  t.equal(answer.status, 200)
  const span = await requestSpan(answer.headers.get('x-trace-id'))
  t.notOk('llm.usage.missing' in span.attributes, 'no llm.usage.missing')
  t.equal(span.attributes['llm.tokens.input'], 15)
  const text = await scrapeMetrics(gateway.url)
  t.equal(metricSum(text, 'llm_requests_unmetered_total', series('gpt-3.5-turbo')), 1, 'still the one unmetered call')
  t.equal(metricSum(text, 'llm_tokens_input_total', series('gpt-3.5-turbo')), 15)
})

t.test('the reasoning agent on a server without usage: its model calls are marked too', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-stream-no-usage' })
  const response = await fetch(`${gateway.url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: hi, tools: [] }),
  })
  t.equal(response.status, 200, await response.clone().text())
  const [span] = await receiver.waitForSpans(
    (s) => s.traceId === response.headers.get('x-trace-id') && s.name === 'llm.request',
    1,
  )
  t.equal(span?.attributes['llm.usage.missing'], true)
  const text = await scrapeMetrics(gateway.url)
  t.equal(metricSum(text, 'llm_requests_unmetered_total', series('gpt-3.5-turbo')), 2)
})
