// A /v1/messages call is the same call to telemetry as a chat one: the trace tree under the HTTP
// server span (llm.request → llm.anthropic.chat|stream, or the translated provider's span → the
// HTTP client POST), the trace headers (x-trace-id, x-span-id, traceresponse, Link) on JSON, SSE
// and error answers, and trace_context in the JSON answer, in `message_stop`, beside an error and
// in a stream's `error` event.
import t, { type Test } from 'tap'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import { chatSpans, startObservedGateway } from '../telemetry/helpers.ts'
import { eventsOf, GATEWAY_KEY, headerIds, postMessages, type Json, type MessagesAnswer } from './helpers.ts'

t.setTimeout(180_000)

const TRACE_UI = 'http://localhost:16686/trace/{trace_id}'
const { gateway, receiver, upstream } = await startObservedGateway(t, { GATEWAY_API_KEYS: GATEWAY_KEY, TRACE_UI_URL: TRACE_UI })
t.beforeEach(() => upstream.reset())

const body = (stream: boolean, model = 'claude-3-5-sonnet-20240620'): Json => ({
  model,
  max_tokens: 100,
  messages: [{ role: 'user', content: 'Hello there' }],
  ...(stream && { stream: true }),
})

/** The four trace headers, each naming the answer's trace (and x-span-id its span). */
function checkHeaders(t: Test, answer: MessagesAnswer, what: string): void {
  const { trace_id: traceId, span_id: spanId } = headerIds(answer)
  t.match(traceId, /^[0-9a-f]{32}$/, `${what}: x-trace-id`)
  t.match(spanId, /^[0-9a-f]{16}$/, `${what}: x-span-id`)
  t.equal(answer.headers.get('traceresponse'), `00-${traceId}-${spanId}-01`, `${what}: traceresponse`)
  t.equal(answer.headers.get('link'), `<${TRACE_UI.replace('{trace_id}', traceId)}>; rel="trace"`, `${what}: Link to the trace UI`)
}

for (const stream of [false, true]) {
  t.test(`to Anthropic, ${stream ? 'streamed' : 'JSON'}: server span → llm.request → llm.anthropic.${stream ? 'stream' : 'chat'} → POST`, async (t) => {
    upstream.enqueue(stream ? sseReply('anthropic-messages-text-stream') : jsonReply('anthropic-messages-text-nonstream'))
    const answer = await postMessages(gateway.url, body(stream))
    t.equal(answer.status, 200)
    checkHeaders(t, answer, stream ? 'SSE' : 'JSON')
    const context = stream ? eventsOf(answer, 'message_stop')[0]?.trace_context : answer.json?.trace_context
    t.strictSame(context, headerIds(answer), stream ? 'trace_context in message_stop' : 'trace_context in the JSON answer')

    const spans = await chatSpans(receiver, headerIds(answer).trace_id)
    t.equal(spans.server?.name, 'POST /v1/messages', 'the server span is named after the route')
    t.equal(spans.request?.spanId, headerIds(answer).span_id, 'x-span-id is the llm.request span')
    t.equal(spans.request?.parentSpanId, spans.server?.spanId, 'llm.request under the server span')
    t.equal(spans.provider?.name, `llm.anthropic.${stream ? 'stream' : 'chat'}`)
    t.equal(spans.provider?.parentSpanId, spans.request?.spanId, 'the provider span under llm.request')
    t.equal(spans.http?.name, 'POST', 'the HTTP client span')
    t.equal(spans.http?.parentSpanId, spans.provider?.spanId, 'under the provider span')
    t.match(spans.request?.attributes, { 'llm.api': 'messages', 'gen_ai.operation.name': 'chat', 'llm.streaming': stream, 'gen_ai.usage.input_tokens': 17 })
    if (stream) t.type(spans.request?.attributes['llm.time_to_first_token'], 'number', 'time to first token, from the first text delta')
  })
}

for (const stream of [false, true]) {
  t.test(`translated to OpenAI, ${stream ? 'streamed' : 'JSON'}: llm.request → llm.openai.${stream ? 'stream' : 'chat'} → POST`, async (t) => {
    upstream.enqueue(stream ? sseReply('openai-chat-text-stream-include-usage') : jsonReply('openai-chat-text-stream-include-usage'))
    const answer = await postMessages(gateway.url, body(stream, 'gpt-4o-mini'))
    t.equal(answer.status, 200)
    checkHeaders(t, answer, stream ? 'SSE' : 'JSON')
    const context = stream ? eventsOf(answer, 'message_stop')[0]?.trace_context : answer.json?.trace_context
    t.strictSame(context, headerIds(answer), 'trace_context')
    const spans = await chatSpans(receiver, headerIds(answer).trace_id)
    t.equal(spans.provider?.name, `llm.openai.${stream ? 'stream' : 'chat'}`)
    t.equal(spans.provider?.parentSpanId, spans.request?.spanId)
    t.equal(spans.http?.parentSpanId, spans.provider?.spanId, 'the HTTP client span under it')
    t.match(spans.request?.attributes, { 'llm.api': 'messages', 'llm.provider': 'openai', 'gen_ai.usage.input_tokens': 23, 'gen_ai.usage.output_tokens': 8 })
  })
}

t.test('the demo: llm.request → llm.demo.stream, headers and trace_context as everywhere', async (t) => {
  const answer = await postMessages(gateway.url, body(true, 'demo-chat'))
  checkHeaders(t, answer, 'the demo stream')
  t.strictSame(eventsOf(answer, 'message_stop')[0]?.trace_context, headerIds(answer))
  const spans = await chatSpans(receiver, headerIds(answer).trace_id, { expected: 3 })
  t.equal(spans.provider?.name, 'llm.demo.stream')
  t.equal(spans.provider?.parentSpanId, spans.request?.spanId)
})

t.test("an error answer (Anthropic's 429) carries the headers and trace_context, retry-after passed on", async (t) => {
  for (const stream of [false, true]) {
    upstream.enqueue({ status: 429, headers: { 'retry-after': '7' }, json: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } } })
    const answer = await postMessages(gateway.url, body(stream))
    t.equal(answer.status, 429, `stream ${stream}`)
    t.equal(answer.headers.get('retry-after'), '7')
    checkHeaders(t, answer, `stream ${stream}: the error`)
    t.match(answer.json, { type: 'error', error: { type: 'rate_limit_error', message: /rate limit/ }, trace_context: headerIds(answer) })
    const spans = await chatSpans(receiver, headerIds(answer).trace_id)
    t.equal(spans.request?.spanId, headerIds(answer).span_id, 'x-span-id is the failed llm.request')
    t.equal(spans.request?.status.code, 'ERROR')
    t.equal(spans.request?.attributes['error.type'], 'rate_limited')
  }
})

t.test("the gateway's own 400 (a bad body) carries the headers and trace_context too", async (t) => {
  const answer = await postMessages(gateway.url, { model: 'claude-3-5-sonnet-20240620', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(answer.status, 400)
  checkHeaders(t, answer, 'the 400')
  t.match(answer.json, { type: 'error', error: { type: 'invalid_request_error', message: /max_tokens/ }, trace_context: { trace_id: headerIds(answer).trace_id } })
  t.equal(upstream.requests.length, 0)
})

t.test("an error inside Anthropic's stream ends the stream with Anthropic's error event and trace_context", async (t) => {
  const start = { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-5-sonnet-20240620', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 9, output_tokens: 1 } } }
  const failure = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }
  upstream.enqueue({
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    body: `event: message_start\ndata: ${JSON.stringify(start)}\n\nevent: error\ndata: ${JSON.stringify(failure)}\n\n`,
  })
  const answer = await postMessages(gateway.url, body(true))
  t.equal(answer.status, 200, 'the stream had begun')
  checkHeaders(t, answer, 'the stream')
  t.strictSame(answer.events.map((e) => e.event), ['message_start', 'error'])
  // The type is Anthropic's; the message keeps Anthropic's words after the gateway's "who failed".
  t.match(eventsOf(answer, 'error')[0], { type: 'error', error: { type: 'overloaded_error', message: /: Overloaded$/ }, trace_context: headerIds(answer) }, "Anthropic's error event plus trace_context")
  const spans = await chatSpans(receiver, headerIds(answer).trace_id)
  t.equal(spans.request?.status.code, 'ERROR', 'llm.request failed')
  t.equal(spans.request?.attributes['error.type'], 'upstream_overloaded')
})
