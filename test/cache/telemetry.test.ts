// Issue 13, the response cache in telemetry: a hit's `llm.request` says `llm.cache.hit=true`,
// costs $0 and records what it saved (`llm.cache.saved_usd` = what the original cost, its tokens),
// and has no provider span (nothing went upstream), and with content capture on shows the answer
// it gave like a miss does; a miss says `llm.cache.hit=false`. On
// /metrics: hits and misses counted by the target that served, the saving summed,
// `llm_requests_total` counting hits too, the token and cost counters not growing on a hit.
import t from 'tap'
import type { ReceivedSpan } from '../support/otlp-receiver.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { GATEWAY_KEY, cacheHeaders, headerIds, post, startCachingGateway, type Json } from './helpers.ts'

t.setTimeout(180_000)

// Content capture on: a hit's span must show what it answered, as the miss's does.
const { gateway, receiver, upstream } = await startCachingGateway(t, { cache: { ttlSeconds: 600 } }, { env: { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' } })
const CHAT = '/v1/chat/completions'
const labels = { llm_model: 'gpt-4o-mini', llm_provider: 'openai' }
const close = (a: number, b: number) => Math.abs(a - b) < 1e-12

/** The spans of one trace, once its `llm.request` has arrived (and the HTTP server span, which ends last). */
async function traceOf(traceId: string): Promise<{ request: ReceivedSpan; all: ReceivedSpan[] }> {
  await receiver.waitFor(() => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId)
    return spans.some((s) => s.name === 'llm.request') && spans.some((s) => s.kind === 'SERVER')
  }, 20_000)
  const all = receiver.spans.filter((s) => s.traceId === traceId)
  return { request: all.find((s) => s.name === 'llm.request')!, all }
}

const metrics = async () => {
  const text = await scrapeMetrics(gateway.url, GATEWAY_KEY)
  return {
    hits: metricSum(text, 'llm_response_cache_hits_total', labels),
    misses: metricSum(text, 'llm_response_cache_misses_total', labels),
    saved: metricSum(text, 'llm_response_cache_saved_usd', labels),
    requests: metricSum(text, 'llm_requests_total', labels),
    input: metricSum(text, 'llm_tokens_input_total', labels),
    output: metricSum(text, 'llm_tokens_output_total', labels),
    cost: metricSum(text, 'llm_cost_total_usd', labels),
    ttft: metricSum(text, 'llm_time_to_first_token_seconds_count', labels),
  }
}

/** The cost and tokens the answer reports (the usage chunk of a stream). */
function usageOf(answer: { json?: Json | undefined; events: Array<{ data: Json }> }) {
  const usage = (answer.json?.usage ?? answer.events.find((e) => e.data.usage)?.data.usage) as { prompt_tokens: number; completion_tokens: number; cost_usd: number }
  return usage
}

for (const stream of [false, true]) {
  t.test(`${stream ? 'streamed' : 'JSON'}: the hit's llm.request says hit, costs $0, records the saving, and has no provider span`, async (t) => {
    upstream.reset()
    upstream.enqueue({ fixture: stream ? 'openai-chat-text-stream-include-usage' : 'openai-chat-text-nonstream' })
    const before = await metrics()
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `telemetry ${stream}` }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }
    const miss = await post(gateway.url, CHAT, body)
    const hit = await post(gateway.url, CHAT, body)
    t.strictSame([cacheHeaders(miss).cache, cacheHeaders(hit).cache], ['miss', 'hit'])
    t.equal(upstream.requests.length, 1)
    const original = usageOf(miss)
    t.ok(original.cost_usd > 0, `the original cost $${original.cost_usd}`)

    const missTrace = await traceOf(headerIds(miss).trace_id!)
    t.equal(missTrace.request.attributes['llm.cache.hit'], false, 'the miss: llm.cache.hit=false')
    t.equal(missTrace.request.attributes['llm.cache.status'], 'miss')
    t.ok(close(missTrace.request.attributes['llm.cost.total'] as number, original.cost_usd), 'and its own cost')
    t.ok(missTrace.all.some((s) => s.kind === 'CLIENT' && s.name.startsWith('llm.openai.')), 'and a provider span')

    const hitTrace = await traceOf(headerIds(hit).trace_id!)
    const attributes = hitTrace.request.attributes
    t.equal(attributes['llm.cache.hit'], true, 'the hit: llm.cache.hit=true')
    t.equal(attributes['llm.cache.status'], 'hit')
    t.equal(attributes['llm.cost.total'], 0, 'costs $0')
    t.equal(attributes['llm.tokens.input'], 0, 'spent no tokens')
    t.equal(attributes['llm.tokens.output'], 0)
    t.ok(close(attributes['llm.cache.saved_usd'] as number, original.cost_usd), `saved what the original cost ($${attributes['llm.cache.saved_usd']})`)
    t.equal(attributes['llm.cache.saved_tokens.input'], original.prompt_tokens, 'and its tokens')
    t.equal(attributes['llm.cache.saved_tokens.output'], original.completion_tokens)
    const output = missTrace.request.attributes['gen_ai.output.messages']
    t.match(output, /assistant/, 'the miss captured its answer')
    t.equal(attributes['gen_ai.output.messages'], output, 'the hit captures the same answer')
    t.equal(attributes['gen_ai.input.messages'], missTrace.request.attributes['gen_ai.input.messages'], 'and the same question')
    t.equal(attributes['llm.provider'], 'openai', 'named for the target that served the original')
    t.equal(attributes['llm.model'], 'gpt-4o-mini')
    t.not(hitTrace.request.status.code, 'ERROR', 'a success')
    t.notOk(
      hitTrace.all.some((s) => s.kind === 'CLIENT' || s.name.startsWith('llm.openai.')),
      `no provider span, no upstream request (spans: ${hitTrace.all.map((s) => s.name).join(', ')})`,
    )

    const after = await metrics()
    t.equal(after.hits - before.hits, 1, 'llm_response_cache_hits_total +1')
    t.equal(after.misses - before.misses, 1, 'llm_response_cache_misses_total +1')
    t.ok(close(after.saved - before.saved, original.cost_usd), 'llm_response_cache_saved_usd grew by what the original cost')
    t.equal(after.requests - before.requests, 2, 'llm_requests_total counts the hit as a request')
    t.equal(after.input - before.input, original.prompt_tokens, 'llm_tokens_input_total grew by the original only')
    t.equal(after.output - before.output, original.completion_tokens, 'llm_tokens_output_total too')
    t.ok(close(after.cost - before.cost, original.cost_usd), 'llm_cost_total_usd grew by the original only')
    // A replay's first token is the cache's, not the model's: only the original is in the model's TTFT.
    t.equal(after.ttft - before.ttft, stream ? 1 : 0, 'llm_time_to_first_token_seconds counts the original stream only')
  })
}

t.test('a no-store call is neither a hit nor a miss in the metrics; its span says bypass', async (t) => {
  upstream.reset()
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const before = await metrics()
  const answer = await post(gateway.url, CHAT, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'bypass' }] }, { 'cache-control': 'no-store' })
  t.equal(cacheHeaders(answer).cache, 'bypass')
  const { request } = await traceOf(headerIds(answer).trace_id!)
  t.equal(request.attributes['llm.cache.status'], 'bypass')
  t.equal(request.attributes['llm.cache.hit'], false)
  const after = await metrics()
  t.equal(after.hits, before.hits)
  t.equal(after.misses, before.misses)
  t.equal(after.requests - before.requests, 1)
})
