// The reasoning agent's telemetry as a user sees it (SPEC §2.1, §2.2; the points 4–5):
// the span tree read back from an OTLP receiver — the agent span under the HTTP SERVER span, one
// iteration span per model call holding its llm.request → provider → HTTP chain, one tool span
// per tool call — with their attributes, error statuses and summed tokens and cost; and the
// reasoning metrics next to the chat metrics, on /metrics and over OTLP.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver, type ReceivedMetric, type ReceivedSpan, type SpanTreeNode } from '../support/otlp-receiver.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { anthropicTurn, calc, openaiTurn, postAgent, upstreamFailure, type Json } from './helpers.ts'

const receiver = await startOtlpReceiver()
const upstream = await startUpstream({ seed: 9 })
const upstreamPort = Number(new URL(upstream.url).port)
const gateway = await startGateway({
  env: {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    ...providerEnv(upstream, { openai: 'sk-test-agent-telemetry', anthropic: 'sk-ant-test-agent-telemetry' }),
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
})
t.beforeEach(() => upstream.reset())

const MODEL = 'gpt-4o-mini'
const messages = [{ role: 'user', content: 'What is 15 * 23 + 7?' }]
const labels = (effort: string) => ({ llm_model: MODEL, llm_provider: 'openai', reasoning_effort: effort })

interface Tree {
  name: string
  children: Tree[]
}

const byStart = (a: SpanTreeNode, b: SpanTreeNode) =>
  a.span.startTimeUnixNano < b.span.startTimeUnixNano ? -1 : a.span.startTimeUnixNano > b.span.startTimeUnixNano ? 1 : 0

function names(node: SpanTreeNode): Tree {
  return { name: node.span.name, children: [...node.children].sort(byStart).map(names) }
}

/** Waits until the trace holds `count` spans, then returns them. */
async function traceSpans(traceId: string, count: number): Promise<ReceivedSpan[]> {
  await receiver.waitFor(() => receiver.spans.filter((s) => s.traceId === traceId).length >= count, 10_000)
  await new Promise((resolve) => setTimeout(resolve, 150)) // anything extra would show up now
  return receiver.spans.filter((s) => s.traceId === traceId)
}

function one(spans: ReceivedSpan[], predicate: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(predicate)
  if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length}`)
  return found[0]!
}

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId).sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1))

const num = (value: unknown) => (typeof value === 'number' ? value : NaN)
const close = (a: number, b: number) => Math.abs(a - b) < 1e-9

const iterationChain = (index: number): Tree => ({
  name: `reasoning.thinking.iteration_${index}`,
  children: [{ name: 'llm.request', children: [{ name: 'llm.openai.stream', children: [{ name: 'POST', children: [] }] }] }],
})
const toolLeaf: Tree = { name: 'reasoning.tool.calculator', children: [] }

t.test('a 3-iteration run with a failing tool: the span tree of SPEC §2.1, exactly', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [calc('call_t1', '15*23'), calc('call_t2', '1/0')], usage: { input: 110, output: 30 } }),
    openaiTurn({ content: 'Now add 7.', toolCalls: [calc('call_t3', '345+7')], usage: { input: 170, output: 25 } }),
    openaiTurn({ content: 'The answer is 352.', usage: { input: 210, output: 8 } }),
  )
  const before = await scrapeMetrics(gateway.url)
  const { status, headers, json } = await postAgent(gateway.url, { model: MODEL, messages, reasoning_effort: 'high' })
  t.equal(status, 200, JSON.stringify(json))
  const traceId = headers.get('x-trace-id')!
  const spans = await traceSpans(traceId, 1 + 1 + 3 * 4 + 3)

  const server = one(spans, (s) => s.kind === 'SERVER', 'SERVER span')
  t.equal(server.name, 'POST /v1/agents/reasoning', 'the HTTP SERVER span is named after the route')
  t.equal(server.parentSpanId, '', 'and is the root')
  t.same(
    receiver.spanTree(traceId).map(names),
    [
      {
        name: 'POST /v1/agents/reasoning',
        children: [
          {
            name: 'llm.reasoning_agent.stream',
            children: [iterationChain(1), toolLeaf, toolLeaf, iterationChain(2), toolLeaf, iterationChain(3)],
          },
        ],
      },
    ],
    'SERVER → agent → (iteration → llm.request → provider → POST, tools) in the order they ran, nothing else',
  )

  // The agent span.
  const agent = one(spans, (s) => s.name === 'llm.reasoning_agent.stream', 'agent span')
  t.equal(headers.get('x-span-id'), agent.spanId, 'x-span-id is the agent span')
  t.equal((json.trace_context as Json).span_id, agent.spanId, 'trace_context.span_id is the agent span')
  t.equal(agent.kind, 'INTERNAL')
  t.not(agent.status.code, 'ERROR')
  t.match(agent.attributes, {
    'gen_ai.operation.name': 'invoke_agent',
    'llm.reasoning.effort': 'high',
    'llm.reasoning.iterations.total': 3,
    'llm.reasoning.tool_calls.total': 3,
    'llm.tokens.input': 110 + 170 + 210,
    'llm.tokens.output': 30 + 25 + 8,
    'llm.tokens.total': 110 + 170 + 210 + 30 + 25 + 8,
  })
  const requests = spans.filter((s) => s.name === 'llm.request')
  const costSum = requests.reduce((sum, s) => sum + num(s.attributes['llm.cost.total']), 0)
  t.ok(costSum > 0, 'each model call is priced')
  t.ok(close(num(agent.attributes['llm.cost.total']), costSum), `agent llm.cost.total ${agent.attributes['llm.cost.total']} = the sum over its llm.request spans ${costSum}`)
  t.ok(close(num((json.usage as Json).cost_usd), costSum), 'and = the usage.cost_usd the caller got')
  t.same(
    requests.map((s) => s.attributes['llm.tokens.input']).sort(),
    [110, 170, 210],
    'each llm.request has its own call’s tokens',
  )

  // Iteration spans.
  const iterations = childrenOf(spans, agent).filter((s) => s.name.startsWith('reasoning.thinking.iteration_'))
  t.same(iterations.map((s) => s.name), ['reasoning.thinking.iteration_1', 'reasoning.thinking.iteration_2', 'reasoning.thinking.iteration_3'])
  t.same(iterations.map((s) => s.attributes['reasoning.thinking.content_length']), [0, 'Now add 7.'.length, 0],
    'content_length: the thinking text of each iteration')
  for (const iteration of iterations) {
    t.equal(iteration.kind, 'INTERNAL', `${iteration.name} is INTERNAL`)
    const [request] = childrenOf(spans, iteration)
    t.match(request, { name: 'llm.request', kind: 'INTERNAL', attributes: { 'llm.model': MODEL, 'llm.provider': 'openai', 'llm.streaming': true } })
    const [provider] = childrenOf(spans, request!)
    t.match(provider, { name: 'llm.openai.stream', kind: 'CLIENT' })
    const [http] = childrenOf(spans, provider!)
    t.match(http, { name: 'POST', kind: 'CLIENT', attributes: { 'server.address': '127.0.0.1', 'server.port': upstreamPort } })
  }

  // Tool spans.
  const tools = spans.filter((s) => s.name === 'reasoning.tool.calculator')
  for (const tool of tools) {
    t.equal(tool.parentSpanId, agent.spanId, 'tool spans are children of the agent span')
    t.equal(tool.kind, 'INTERNAL')
    t.match(tool.attributes, {
      'tool.name': 'calculator',
      'tool.arguments_count': 1,
      'gen_ai.tool.name': 'calculator',
      'gen_ai.operation.name': 'execute_tool',
    })
  }
  t.same(tools.map((s) => s.attributes['gen_ai.tool.call.id']).sort(), ['call_t1', 'call_t2', 'call_t3'], 'gen_ai.tool.call.id is the model’s call id')
  const failed = one(tools, (s) => s.attributes['gen_ai.tool.call.id'] === 'call_t2', 'failed tool span')
  t.equal(failed.status.code, 'ERROR', 'the failed tool’s span has status ERROR')
  t.match(failed.attributes['error.type'], /\S/, 'and an error.type')
  for (const ok of tools.filter((s) => s !== failed)) t.not(ok.status.code, 'ERROR', 'successful tools are not errors')
  const [iteration1, iteration2] = iterations
  // The SDK stamps span starts at whole milliseconds (ends keep nanoseconds): allow that rounding.
  const ms = 1_000_000n
  for (const tool of tools.filter((s) => s.attributes['gen_ai.tool.call.id'] !== 'call_t3')) {
    t.ok(tool.startTimeUnixNano + ms >= iteration1!.endTimeUnixNano && tool.endTimeUnixNano <= iteration2!.startTimeUnixNano + ms,
      'the first turn’s tools ran between iteration 1 and iteration 2')
  }

  t.ok(spans.every((s) => s.events.length === 0), 'no span events')
  const text = JSON.stringify(spans.map((s) => s.attributes))
  t.notMatch(text, /What is 15/, 'no prompt text without content capture')
  t.notMatch(text, /sk-test-agent-telemetry/, 'no secrets')

  // Metrics on /metrics: the reasoning counters once per run, the chat ones once per model call.
  const after = await scrapeMetrics(gateway.url)
  const delta = (name: string, l: Record<string, string>) => metricSum(after, name, l) - metricSum(before, name, l)
  t.equal(delta('llm_reasoning_requests_total', labels('high')), 1)
  t.equal(delta('llm_reasoning_success_total', labels('high')), 1)
  t.equal(delta('llm_reasoning_iterations_total', labels('high')), 3)
  t.equal(delta('llm_reasoning_tool_calls_total', labels('high')), 3)
  const chat = { llm_model: MODEL, llm_provider: 'openai' }
  t.equal(delta('llm_requests_total', chat), 3, 'llm_requests_total once per model call')
  t.equal(delta('llm_requests_failed_total', chat), 0)
  t.equal(delta('llm_tokens_input_total', chat), 110 + 170 + 210)
  t.equal(delta('llm_tokens_output_total', chat), 30 + 25 + 8)
  t.equal(delta('llm_request_duration_seconds_count', chat), 3)
  t.equal(delta('llm_time_to_first_token_seconds_count', chat), 3)
  t.ok(close(delta('llm_cost_total_usd', chat), costSum), 'llm_cost_total_usd rises by the run’s cost')
})

/** The Prometheus name an OTLP metric gets (SPEC §2.2: `.` → `_`, `_total` on monotonic counters). */
function prometheusName(metric: ReceivedMetric): string {
  const base = metric.name.replace(/\./g, '_')
  return metric.type === 'sum' && metric.isMonotonic ? `${base}_total` : base
}

t.test('the reasoning metrics over OTLP, with llm_model / llm_provider / reasoning_effort labels', async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_m1', '2+2')] }), openaiTurn({ content: '4' }))
  const { status } = await postAgent(gateway.url, { model: MODEL, messages, reasoning_effort: 'low' })
  t.equal(status, 200)
  const wanted = {
    llm_reasoning_requests_total: 1,
    llm_reasoning_success_total: 1,
    llm_reasoning_iterations_total: 2,
    llm_reasoning_tool_calls_total: 1,
  }
  const point = (name: string) => {
    const metric = [...receiver.metricExports].reverse().find((m) => prometheusName(m) === name)
    return metric?.dataPoints.find((p) => {
      const attrs = Object.fromEntries(Object.entries(p.attributes).map(([k, v]) => [k.replace(/\./g, '_'), v]))
      return attrs.llm_model === MODEL && attrs.llm_provider === 'openai' && attrs.reasoning_effort === 'low'
    })
  }
  await receiver.waitFor(() => Object.entries(wanted).every(([name, value]) => point(name)?.value === value), 10_000)
  for (const [name, value] of Object.entries(wanted)) {
    t.equal(point(name)?.value, value, `${name} over OTLP`)
  }
})

t.test('a run that fails at the model: ERROR on the failed iteration and on the agent span', async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_x1', '15*23')] }), upstreamFailure(500, 'upstream exploded'))
  const before = await scrapeMetrics(gateway.url)
  const { status, headers } = await postAgent(gateway.url, { model: MODEL, messages, reasoning_effort: 'medium' })
  t.equal(status, 502)
  const traceId = headers.get('x-trace-id')!
  const spans = await traceSpans(traceId, 1 + 1 + 4 + 1 + 4)
  const agent = one(spans, (s) => s.name === 'llm.reasoning_agent.stream', 'agent span')
  t.equal(headers.get('x-span-id'), agent.spanId, 'x-span-id is the agent span, errors included')
  t.equal(agent.status.code, 'ERROR')
  t.match(agent.attributes['error.type'], /\S/)
  t.match(agent.attributes, { 'llm.reasoning.iterations.total': 2, 'llm.reasoning.tool_calls.total': 1 },
    'the totals count the failed model call: one per iteration span')
  const iteration2 = one(spans, (s) => s.name === 'reasoning.thinking.iteration_2', 'iteration 2')
  t.equal(iteration2.status.code, 'ERROR', 'the iteration whose model call failed')
  const request2 = one(spans, (s) => s.name === 'llm.request' && s.parentSpanId === iteration2.spanId, 'its llm.request')
  t.equal(request2.status.code, 'ERROR')
  t.not(one(spans, (s) => s.name === 'reasoning.thinking.iteration_1', 'iteration 1').status.code, 'ERROR')

  const after = await scrapeMetrics(gateway.url)
  const delta = (name: string, l: Record<string, string>) => metricSum(after, name, l) - metricSum(before, name, l)
  t.equal(delta('llm_reasoning_requests_total', labels('medium')), 1, 'the run counts as a request')
  t.equal(delta('llm_reasoning_success_total', labels('medium')), 0, 'but not as a success')
  t.equal(delta('llm_reasoning_iterations_total', labels('medium')), 2, 'two model calls were made')
  t.equal(delta('llm_reasoning_tool_calls_total', labels('medium')), 1)
  t.equal(delta('llm_requests_total', { llm_model: MODEL, llm_provider: 'openai' }), 2, 'both model calls counted')
  t.equal(delta('llm_requests_failed_total', { llm_model: MODEL, llm_provider: 'openai' }), 1, 'one of them failed')
})

t.test('a run the caller abandons: the spans say cancelled', async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_c1', '15*23')] }), { hang: true })
  const before = await scrapeMetrics(gateway.url)
  const controller = new AbortController()
  const response = await fetch(`${gateway.url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages, stream: true, reasoning_effort: 'medium' }),
    signal: controller.signal,
  })
  const traceId = response.headers.get('x-trace-id')!
  const spanId = response.headers.get('x-span-id')!
  await upstream.waitForRequests(2, 5_000)
  controller.abort()
  await upstream.waitForAbort(1, 3_000)
  const spans = await traceSpans(traceId, 1 + 1 + 4 + 1 + 4)
  const agent = one(spans, (s) => s.name === 'llm.reasoning_agent.stream', 'agent span')
  t.equal(agent.spanId, spanId)
  t.equal(agent.status.code, 'ERROR')
  t.equal(agent.attributes['error.type'], 'cancelled', 'the agent span says cancelled')
  t.equal(agent.attributes['llm.reasoning.iterations.total'], 2, 'the abandoned iteration counts')
  const iteration2 = one(spans, (s) => s.name === 'reasoning.thinking.iteration_2', 'iteration 2')
  const request2 = one(spans, (s) => s.name === 'llm.request' && s.parentSpanId === iteration2.spanId, 'its llm.request')
  t.equal(request2.attributes['error.type'], 'cancelled', 'so does the model call in flight')
  const after = await scrapeMetrics(gateway.url)
  t.equal(
    metricSum(after, 'llm_requests_failed_total', { llm_model: MODEL }) - metricSum(before, 'llm_requests_failed_total', { llm_model: MODEL }),
    1,
    'the failure metric counts the cancelled call',
  )
  // Why it failed is on the GenAI duration histogram, which carries error.type by convention.
  const cancelled = { gen_ai_request_model: MODEL, error_type: 'cancelled' }
  t.equal(
    metricSum(after, 'gen_ai_client_operation_duration_count', cancelled) - metricSum(before, 'gen_ai_client_operation_duration_count', cancelled),
    1,
    'as a cancellation',
  )
  t.equal(
    metricSum(after, 'llm_reasoning_success_total', labels('medium')) - metricSum(before, 'llm_reasoning_success_total', labels('medium')),
    0,
  )
})

t.test('through Anthropic: each iteration holds llm.request → llm.anthropic.stream → POST, one traceparent upstream', async (t) => {
  upstream.enqueue(
    anthropicTurn({ toolUses: [{ id: 'toolu_tel', name: 'calculator', input: { expression: '15*23+7' } }] }),
    anthropicTurn({ text: '352' }),
  )
  const { status, headers } = await postAgent(gateway.url, { model: 'claude-3-5-haiku-20241022', messages, reasoning_effort: 'low' })
  t.equal(status, 200)
  const traceId = headers.get('x-trace-id')!
  const spans = await traceSpans(traceId, 1 + 1 + 2 * 4 + 1)
  const agent = one(spans, (s) => s.name === 'llm.reasoning_agent.stream', 'agent span')
  t.match(agent.attributes, { 'llm.provider': 'anthropic', 'llm.reasoning.iterations.total': 2, 'llm.reasoning.tool_calls.total': 1 })
  const node = receiver.spanTree(traceId).flatMap((root) => root.children).find((n) => n.span.spanId === agent.spanId)
  const chain = (index: number): Tree => ({
    name: `reasoning.thinking.iteration_${index}`,
    children: [{ name: 'llm.request', children: [{ name: 'llm.anthropic.stream', children: [{ name: 'POST', children: [] }] }] }],
  })
  t.same(
    node && names(node),
    { name: 'llm.reasoning_agent.stream', children: [chain(1), toolLeaf, chain(2)] },
    'the same tree as with OpenAI',
  )
  for (const request of upstream.requests) {
    t.match(request.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, 'exactly one traceparent, as W3C requires')
  }
})
