// A Responses call is the same call to telemetry as a chat one: the same trace tree under the HTTP
// server span, the same guide metrics (so the guide's PromQL counts every ingress), the same
// trace headers (x-trace-id, x-span-id, traceresponse, Link), trace_context in the answer.
import t from 'tap'
import OpenAI from 'openai'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { startObservedGateway, WAIT_MS } from '../telemetry/helpers.ts'

t.setTimeout(180_000)

const { gateway, receiver } = await startObservedGateway(t, { TRACE_UI_URL: 'http://localhost:16686/trace/{trace_id}', DEMO_TOKEN_DELAY_MS: '1' })
const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused' })
const requests = async () => metricSum(await scrapeMetrics(gateway.url), 'llm_requests_total', { llm_model: 'demo-chat', llm_provider: 'demo' })

t.test('the trace tree and headers of a Responses call, streamed and not', async (t) => {
  for (const stream of [false, true]) {
    const answer = await fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-chat', input: 'Hello there', stream }),
    })
    t.equal(answer.status, 200)
    const traceId = answer.headers.get('x-trace-id')!
    const spanId = answer.headers.get('x-span-id')!
    t.equal(answer.headers.get('traceresponse'), `00-${traceId}-${spanId}-01`, `stream ${stream}: traceresponse`)
    t.equal(answer.headers.get('link'), `<http://localhost:16686/trace/${traceId}>; rel="trace"`, `stream ${stream}: Link to the trace UI`)
    const text = await answer.text()
    const context = stream
      ? (JSON.parse(text.split('\n').find((line) => line.startsWith('data: {"type":"response.completed"'))!.slice(6)) as { trace_context: unknown }).trace_context
      : (JSON.parse(text) as { trace_context: unknown }).trace_context
    t.same(context, { trace_id: traceId, span_id: spanId }, `stream ${stream}: trace_context = the headers`)

    const [server] = await receiver.waitForSpans((s) => s.traceId === traceId && s.kind === 'SERVER', 1, WAIT_MS)
    const [request] = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.request', 1, WAIT_MS)
    const [attempt] = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === `llm.demo.${stream ? 'stream' : 'chat'}`, 1, WAIT_MS)
    t.equal(server!.name, 'POST /v1/responses', 'the server span is named after the route')
    t.equal(request!.spanId, spanId, 'x-span-id is the llm.request span')
    t.equal(request!.parentSpanId, server!.spanId, 'llm.request is a child of the server span')
    t.equal(attempt!.parentSpanId, request!.spanId, 'the provider span a child of llm.request')
    t.match(request!.attributes, {
      'llm.api': 'responses',
      'gen_ai.operation.name': 'chat',
      'llm.model': 'demo-chat',
      'llm.provider': 'demo',
      'llm.streaming': stream,
      'gen_ai.usage.input_tokens': Number,
      'gen_ai.usage.output_tokens': Number,
    })
    if (stream) t.type(request!.attributes['llm.time_to_first_token'], 'number', 'time to first token, from the first text delta')
  }
})

t.test("the guide's metrics count Responses calls with chat ones", async (t) => {
  const before = await requests()
  await client.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] })
  await client.responses.create({ model: 'demo-chat', input: 'hi' })
  const stream = await client.responses.create({ model: 'demo-chat', input: 'hi', stream: true })
  for await (const _event of stream);
  t.equal((await requests()) - before, 3, 'llm_requests_total rose by one per call, whichever API it came through')
})
