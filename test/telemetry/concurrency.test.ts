// 100 streams at once, each from its own caller trace: under interleaving, every span must stay in
// its own trace under its own parent, and every answer must name its own spans. Context leaking
// between concurrent requests (a shared "current span", a module-level variable) shows up here.
import t from 'tap'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { startUpstream } from '../support/upstream.ts'
import { loadFixture } from '../support/fixtures.ts'
import { isUpstreamHttpSpan, postChat, randomSpanId, randomTraceId, STARTUP_MS, traceparent, WAIT_MS, type TraceContextBody } from './helpers.ts'

const N = 100
const FIXTURE = 'openai-chat-text-stream-include-usage'

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const gateway = await startGateway({
  timeoutMs: STARTUP_MS,
  env: {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OPENAI_API_KEY: 'sk-test-concurrency',
    OPENAI_BASE_URL: upstream.openaiBaseURL,
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
})

t.test(`${N} interleaved streams, each under its own caller span`, async (t) => {
  const usage = loadFixture(FIXTURE).meta.usage as { prompt_tokens: number; completion_tokens: number }
  // Every answer is held back a little so all the requests are in flight together; the emulator
  // then sends each stream in uneven chunks with pauses, so their chunks interleave.
  upstream.setDefault({ fixture: FIXTURE, delayMs: 30 })
  const callers = Array.from({ length: N }, (_, i) => ({ i, traceId: randomTraceId(), parentId: randomSpanId() }))

  const answers = await Promise.all(
    callers.map((c) =>
      postChat(
        gateway.url,
        {
          model: 'gpt-4o-mini',
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: `request ${c.i}` }],
        },
        { traceparent: traceparent(c.traceId, c.parentId) },
      ),
    ),
  )
  t.same(answers.map((a) => a.status), callers.map(() => 200), 'every stream answered 200')
  t.equal(upstream.requests.length, N, 'each request reached the upstream once')

  const ours = new Set(callers.map((c) => c.traceId))
  await receiver.waitFor(() => receiver.spans.filter((s) => ours.has(s.traceId)).length >= 4 * N, WAIT_MS)
  const spans = receiver.spans.filter((s) => ours.has(s.traceId))
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  t.equal(byId.size, spans.length, 'no span exported twice')

  const problems: string[] = []
  const undiciSpanOf = new Map<string, string>()
  for (const [k, c] of callers.entries()) {
    const answer = answers[k]!
    const last = answer.chunks.at(-1) as (ChatCompletionChunk & { trace_context?: TraceContextBody }) | undefined
    const inTrace = spans.filter((s) => s.traceId === c.traceId)
    const server = inTrace.filter((s) => s.kind === 'SERVER')
    const request = inTrace.filter((s) => s.name === 'llm.request')
    const provider = inTrace.filter((s) => s.name === 'llm.openai.stream')
    const http = inTrace.filter(isUpstreamHttpSpan)
    const where = `request ${c.i}`
    if (inTrace.length !== 4 || server.length !== 1 || request.length !== 1 || provider.length !== 1 || http.length !== 1) {
      problems.push(`${where}: trace holds [${inTrace.map((s) => s.name).join(', ')}], expected the 4 spans of one request`)
      continue
    }
    const [s, r, p, h] = [server[0]!, request[0]!, provider[0]!, http[0]!]
    undiciSpanOf.set(c.traceId, h.spanId)
    if (s.parentSpanId !== c.parentId) problems.push(`${where}: SERVER span's parent is not the caller's span`)
    if (r.parentSpanId !== s.spanId) problems.push(`${where}: llm.request is not the child of its SERVER span`)
    if (p.parentSpanId !== r.spanId) problems.push(`${where}: provider span is not the child of its own llm.request`)
    if (h.parentSpanId !== p.spanId) problems.push(`${where}: undici span is not the child of its own provider span`)
    if (answer.headers.get('x-trace-id') !== c.traceId) problems.push(`${where}: x-trace-id is not the caller's trace`)
    if (answer.headers.get('x-span-id') !== r.spanId) problems.push(`${where}: x-span-id is not its own llm.request`)
    if (last?.trace_context?.trace_id !== c.traceId || last.trace_context.span_id !== r.spanId) {
      problems.push(`${where}: final chunk's trace_context is not its own llm.request`)
    }
    if (last?.usage?.prompt_tokens !== usage.prompt_tokens || last.usage.completion_tokens !== usage.completion_tokens) {
      problems.push(`${where}: usage chunk does not carry the recorded usage`)
    }
    if (r.attributes['llm.tokens.input'] !== usage.prompt_tokens || r.attributes['llm.tokens.output'] !== usage.completion_tokens) {
      problems.push(`${where}: llm.request tokens are not its own stream's`)
    }
  }
  t.same(problems, [], 'every request: right parent chain, own ids, own usage')

  const crossing = spans.filter((s) => {
    const parent = byId.get(s.parentSpanId)
    return parent !== undefined && parent.traceId !== s.traceId
  })
  t.same(crossing.map((s) => s.name), [], 'no span has a parent in another trace')
  const orphans = spans.filter((s) => s.kind !== 'SERVER' && !byId.has(s.parentSpanId))
  t.same(orphans.map((s) => s.name), [], 'every non-root span has its parent among the exported spans')

  // What each upstream call carried on: its own trace, under its own HTTP client span.
  const propagated = upstream.requests.map((r) => String(r.headers.traceparent ?? '').split('-'))
  const wrong = propagated.filter(([, traceId, parentId]) => !traceId || undiciSpanOf.get(traceId) !== parentId)
  t.equal(wrong.length, 0, 'every upstream request carries its own trace and HTTP span id')
})
