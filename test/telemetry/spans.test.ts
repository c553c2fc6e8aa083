// SPEC §2.1 span tree and §1 "Trace context in and out", read back from an OTLP receiver: what a
// user sees in Jaeger for one chat completion, and that the ids the gateway hands back point at it.
import t from 'tap'
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { openaiStreamChunks, providerEnv, startUpstream } from '../support/upstream.ts'
import { loadFixture } from '../support/fixtures.ts'
import {
  ancestorIds,
  attributeStrings,
  chatSpans,
  postChat,
  randomSpanId,
  randomTraceId,
  traceparent,
  type ChatSpans,
  type TraceContextBody,
  startGateways,
  WAIT_MS,
} from './helpers.ts'

/** A subtest's `t`. */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const upstreamPort = Number(new URL(upstream.url).port)
const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...providerEnv(upstream) }
const [gateway, capturing] = (await startGateways([
  { env },
  { env: { ...env, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' } },
])) as [GatewayProcess, GatewayProcess]
t.teardown(async () => {
  await Promise.all([gateway.stop(), capturing.stop()])
  await Promise.all([receiver.close(), upstream.close()])
})
const client = gateway.client()

/** Words that appear only in prompts and answers: never in a span unless capture is on. */
const PROMPT_MARKER = 'zebra-orchid-prompt-marker'

type WithTrace<T> = T & { trace_context?: TraceContextBody }

/** `usage.cost_usd`, the gateway's addition to OpenAI's usage object. */
function costOf(answer: { usage?: unknown } | undefined): number | undefined {
  const cost = (answer?.usage as { cost_usd?: unknown } | null | undefined)?.cost_usd
  return typeof cost === 'number' ? cost : undefined
}

interface Recorded {
  id: string
  model: string
  text: string
  usage: { prompt_tokens: number; completion_tokens: number; cached_tokens: number }
}

/** What the recorded OpenAI exchange says: the numbers every span attribute must repeat. */
function recorded(name: string): Recorded {
  const { meta, response } = loadFixture(name)
  const usage = meta.usage as { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } }
  let id: string
  let model: string
  let text: string
  if (meta.response_is_sse) {
    const chunks = openaiStreamChunks(response.body)
    id = chunks[0]!.id
    model = chunks[0]!.model
    text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
  } else {
    const body = JSON.parse(response.body) as ChatCompletion
    id = body.id
    model = body.model
    text = body.choices[0]?.message.content ?? ''
  }
  return {
    id,
    model,
    text,
    usage: {
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    },
  }
}

function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`missing: ${what}`)
  return value
}

/** SERVER → llm.request → provider CLIENT → undici POST, each the direct child of the one before. */
function assertTree(t: Test, spans: ChatSpans, providerName: string): { server: ReceivedSpan; request: ReceivedSpan; provider: ReceivedSpan; http: ReceivedSpan } {
  const server = defined(spans.server, 'HTTP SERVER span')
  const request = defined(spans.request, 'llm.request span')
  const provider = defined(spans.provider, `${providerName} span`)
  const http = defined(spans.http, 'undici HTTP CLIENT span')

  t.equal(server.name, 'POST /v1/chat/completions', 'SERVER span named after the route')
  t.equal(server.kind, 'SERVER')
  t.equal(server.attributes['http.route'], '/v1/chat/completions')

  t.equal(request.kind, 'INTERNAL', 'llm.request is INTERNAL')
  t.equal(request.parentSpanId, server.spanId, 'llm.request is the child of the SERVER span')

  t.equal(provider.name, providerName)
  t.equal(provider.kind, 'CLIENT')
  t.equal(provider.parentSpanId, request.spanId, `${providerName} is the child of llm.request`)

  t.equal(http.name, 'POST', 'the HTTP client span is named after the method')
  t.equal(http.kind, 'CLIENT')
  t.equal(http.parentSpanId, provider.spanId, `the upstream HTTP span is the direct child of ${providerName}`)
  t.equal(http.attributes['server.address'], '127.0.0.1', 'the HTTP span names the emulator host')
  t.equal(http.attributes['server.port'], upstreamPort, 'and its port')
  return { server, request, provider, http }
}

function assertIdsReturned(t: Test, request: ReceivedSpan, headers: Headers, body: TraceContextBody | undefined) {
  t.equal(headers.get('x-trace-id'), request.traceId, 'x-trace-id is the trace of llm.request')
  t.equal(headers.get('x-span-id'), request.spanId, 'x-span-id is the llm.request span')
  t.equal(headers.get('traceresponse'), `00-${request.traceId}-${request.spanId}-01`, 'traceresponse carries the same ids, sampled')
  t.same(body, { trace_id: request.traceId, span_id: request.spanId }, 'body trace_context names llm.request')
}

/** No prompt or completion text anywhere: neither the GenAI content attributes nor the words. */
function assertNoContent(t: Test, spans: ReceivedSpan[], answerText: string) {
  for (const span of spans) {
    t.notOk('gen_ai.input.messages' in span.attributes, `${span.name}: no gen_ai.input.messages by default`)
    t.notOk('gen_ai.output.messages' in span.attributes, `${span.name}: no gen_ai.output.messages by default`)
    const strings = attributeStrings(span.attributes).join('\n')
    t.notOk(strings.includes(PROMPT_MARKER), `${span.name}: prompt text not recorded`)
    t.notOk(answerText && strings.includes(answerText), `${span.name}: completion text not recorded`)
  }
}

t.test('non-streaming OpenAI: full tree, ids returned, every llm.* and gen_ai.* attribute', async (t) => {
  const fixture = recorded('openai-chat-text-nonstream')
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: `Tell me a joke about opentelemetry ${PROMPT_MARKER}` },
  ]
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-3.5-turbo', messages, temperature: 0.7, max_tokens: 64, top_p: 0.9 })
    .withResponse()
  const body = data as WithTrace<ChatCompletion>
  const spans = await chatSpans(receiver, defined(body.trace_context?.trace_id, 'trace_context'))
  const { server, request, provider, http } = assertTree(t, spans, 'llm.openai.chat')
  t.equal(spans.all.length, 4, 'exactly the four spans of §2.1')
  t.equal(server.parentSpanId, '', 'without a traceparent the SERVER span is the root')
  t.same(
    [...new Set(spans.all.map((s) => s.resource['service.name']))],
    ['sik-llms-gateway'],
    'zero-config: every span under the default service.name',
  )
  assertIdsReturned(t, request, response.headers, body.trace_context)
  t.equal(http.attributes['http.response.status_code'], 200)

  const cost = defined(costOf(body), 'usage.cost_usd')
  t.ok(cost > 0, 'gpt-3.5-turbo has a known price')
  t.hasStrict(request.attributes, {
    'llm.model': 'gpt-3.5-turbo',
    'llm.provider': 'openai',
    'llm.operation': 'chat',
    'llm.messages.count': 2,
    'llm.streaming': false,
    'llm.request.temperature': 0.7,
    'llm.request.max_tokens': 64,
    'llm.tokens.input': fixture.usage.prompt_tokens,
    'llm.tokens.output': fixture.usage.completion_tokens,
    'llm.tokens.total': fixture.usage.prompt_tokens + fixture.usage.completion_tokens,
    'llm.tokens.cache_read': 0,
    'llm.tokens.cache_write': 0,
    'llm.cost.total': cost,
    'llm.response.finish_reason': 'stop',
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-3.5-turbo',
    'gen_ai.response.model': fixture.model,
    'gen_ai.response.id': fixture.id,
    'gen_ai.response.finish_reasons': ['stop'],
    'gen_ai.request.temperature': 0.7,
    'gen_ai.request.max_tokens': 64,
    'gen_ai.request.top_p': 0.9,
    'gen_ai.request.stream': false,
    'gen_ai.usage.input_tokens': fixture.usage.prompt_tokens,
    'gen_ai.usage.output_tokens': fixture.usage.completion_tokens,
    'gen_ai.usage.cache_read.input_tokens': 0,
    'gen_ai.usage.cache_creation.input_tokens': 0,
    'server.address': '127.0.0.1',
    'server.port': upstreamPort,
  })
  const costIn = request.attributes['llm.cost.input'] as number
  const costOut = request.attributes['llm.cost.output'] as number
  t.ok(costIn > 0 && costOut > 0, 'input and output cost recorded')
  t.ok(Math.abs(costIn + costOut - cost) < 1e-12, 'llm.cost.input + llm.cost.output = llm.cost.total')
  t.notOk('llm.time_to_first_token' in request.attributes, 'no time to first token without a stream')
  t.notOk('error.type' in request.attributes, 'no error.type on success')
  t.not(request.status.code, 'ERROR')

  t.hasStrict(provider.attributes, {
    'llm.streaming': false,
    'llm.request.temperature': 0.7,
    'server.address': '127.0.0.1',
    'server.port': upstreamPort,
  })
  assertNoContent(t, spans.all, fixture.text)
})

t.test('streaming OpenAI: llm.openai.stream, usage from the usage chunk, time to first token', async (t) => {
  const fixture = recorded('openai-chat-text-stream-include-usage')
  upstream.enqueue({ fixture: 'openai-chat-text-stream-include-usage' })
  const { data: stream, response } = await client.chat.completions
    .create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      max_completion_tokens: 50,
      messages: [
        { role: 'developer', content: 'A streaming test agent' },
        { role: 'user', content: `What is 10 + 5? ${PROMPT_MARKER}` },
      ],
    })
    .withResponse()
  const chunks: Array<WithTrace<ChatCompletionChunk>> = []
  for await (const chunk of stream) chunks.push(chunk as WithTrace<ChatCompletionChunk>)
  const last = defined(chunks.at(-1), 'last chunk')
  t.same(last.choices, [], 'the last chunk is the usage chunk the caller asked for')
  t.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), fixture.text, 'the text came through')
  t.ok(chunks.slice(0, -1).every((c) => c.trace_context === undefined), 'trace_context only on the final chunk')

  const spans = await chatSpans(receiver, defined(last.trace_context?.trace_id, 'trace_context on the final chunk'))
  const { request, provider } = assertTree(t, spans, 'llm.openai.stream')
  t.equal(spans.all.length, 4, 'exactly the four spans of §2.1')
  assertIdsReturned(t, request, response.headers, last.trace_context)

  const cost = defined(costOf(last), 'usage.cost_usd on the usage chunk')
  t.equal(last.usage?.prompt_tokens, fixture.usage.prompt_tokens)
  t.hasStrict(request.attributes, {
    'llm.model': 'gpt-4o-mini',
    'llm.provider': 'openai',
    'llm.messages.count': 2,
    'llm.streaming': true,
    'llm.request.temperature': 0.2,
    'llm.request.max_tokens': 50,
    'llm.tokens.input': fixture.usage.prompt_tokens,
    'llm.tokens.output': fixture.usage.completion_tokens,
    'llm.tokens.total': fixture.usage.prompt_tokens + fixture.usage.completion_tokens,
    'llm.tokens.cache_read': 0,
    'llm.tokens.cache_write': 0,
    'llm.cost.total': cost,
    'llm.response.finish_reason': 'stop',
    'gen_ai.request.stream': true,
    'gen_ai.response.model': fixture.model,
    'gen_ai.response.id': fixture.id,
    'gen_ai.response.finish_reasons': ['stop'],
    'gen_ai.usage.input_tokens': fixture.usage.prompt_tokens,
    'gen_ai.usage.output_tokens': fixture.usage.completion_tokens,
  })
  const ttft = request.attributes['llm.time_to_first_token']
  t.type(ttft, 'number', 'llm.time_to_first_token recorded on a stream')
  t.ok((ttft as number) > 0 && (ttft as number) <= request.durationMs / 1000, 'in seconds, within the request')
  t.hasStrict(provider.attributes, { 'llm.streaming': true, 'llm.request.temperature': 0.2 })
  assertNoContent(t, spans.all, fixture.text)
})

t.test('prompt-cache hit: cached tokens become llm.tokens.cache_read, cost matches the body', async (t) => {
  const fixture = recorded('openai-chat-prompt-cache-hit-nonstream')
  t.ok(fixture.usage.cached_tokens > 0, 'the fixture has cached tokens')
  upstream.enqueue({ fixture: 'openai-chat-prompt-cache-hit-nonstream' })
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Summarise ${PROMPT_MARKER}` }] })
    .withResponse()
  const body = data as WithTrace<ChatCompletion>
  const spans = await chatSpans(receiver, defined(body.trace_context?.trace_id, 'trace_context'))
  const { request } = assertTree(t, spans, 'llm.openai.chat')
  assertIdsReturned(t, request, response.headers, body.trace_context)
  t.hasStrict(request.attributes, {
    'llm.tokens.input': fixture.usage.prompt_tokens,
    'llm.tokens.output': fixture.usage.completion_tokens,
    'llm.tokens.cache_read': fixture.usage.cached_tokens,
    'llm.tokens.cache_write': 0,
    'gen_ai.usage.cache_read.input_tokens': fixture.usage.cached_tokens,
    'gen_ai.usage.cache_creation.input_tokens': 0,
    'llm.cost.total': defined(costOf(body), 'usage.cost_usd'),
    'gen_ai.response.id': fixture.id,
  })
})

t.test('an incoming traceparent is joined: the caller gets its own trace id back', async (t) => {
  const traceId = randomTraceId()
  const parentId = randomSpanId()
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const { data, response } = await client.chat.completions
    .create(
      { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] },
      { headers: { traceparent: traceparent(traceId, parentId), tracestate: 'vendor=abc' } },
    )
    .withResponse()
  const body = data as WithTrace<ChatCompletion>
  t.equal(response.headers.get('x-trace-id'), traceId, 'x-trace-id is the caller\'s trace')
  t.equal(body.trace_context?.trace_id, traceId, 'trace_context.trace_id is the caller\'s trace')

  const spans = await chatSpans(receiver, traceId)
  const { server, request, http } = assertTree(t, spans, 'llm.openai.chat')
  assertIdsReturned(t, request, response.headers, body.trace_context)
  t.equal(server.parentSpanId, parentId, 'the SERVER span is the child of the caller\'s span')
  t.equal(ancestorIds(receiver, request).at(-1), parentId, 'llm.request\'s ancestors lead to the caller\'s span')

  const sent = upstream.requests.at(-1)
  t.match(sent?.headers.traceparent, new RegExp(`^00-${traceId}-${http.spanId}-01$`), 'the upstream call carries the same trace on')
})

t.test('an unsampled traceparent still gets its ids back, and nothing is exported for it', async (t) => {
  const traceId = randomTraceId()
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' }, { fixture: 'openai-chat-text-nonstream' })
  const unsampled = await postChat(
    gateway.url,
    { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] },
    { traceparent: traceparent(traceId, randomSpanId(), false) },
  )
  t.equal(unsampled.status, 200)
  t.equal(unsampled.headers.get('x-trace-id'), traceId)
  const spanId = unsampled.headers.get('x-span-id') ?? ''
  t.match(spanId, /^[0-9a-f]{16}$/)
  t.not(spanId, '0000000000000000')
  t.equal(unsampled.headers.get('traceresponse'), `00-${traceId}-${spanId}-00`, 'traceresponse says not sampled')
  t.same(unsampled.json.trace_context, { trace_id: traceId, span_id: spanId })

  // A sampled request afterwards: once its spans are in, the unsampled ones would have been too.
  const sampled = await postChat(gateway.url, { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
  await chatSpans(receiver, sampled.headers.get('x-trace-id') ?? '')
  t.equal(receiver.spans.filter((s) => s.traceId === traceId).length, 0, 'no span of the unsampled trace exported')
})

t.test('upstream 500: ERROR status and error.type on llm.request and the provider span; error body has trace_context', async (t) => {
  upstream.enqueue({ status: 500, json: { error: { message: 'boom' } } })
  const answer = await postChat(gateway.url, { model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(answer.status, 502, 'an upstream failure is a 502')
  const error = answer.json.error as { message: string; type: string }
  t.match(error.message, /boom/, 'the upstream message is passed on')
  t.equal(error.type, 'api_error')
  const traceContext = answer.json.trace_context as TraceContextBody | undefined
  t.ok(traceContext, 'the error body carries trace_context')

  const spans = await chatSpans(receiver, traceContext?.trace_id ?? '')
  const { server, request, provider, http } = assertTree(t, spans, 'llm.openai.chat')
  assertIdsReturned(t, request, answer.headers, traceContext)
  for (const span of [request, provider]) {
    t.equal(span.status.code, 'ERROR', `${span.name} has status ERROR`)
    t.equal(span.attributes['error.type'], 'upstream_error', `${span.name} has error.type`)
  }
  t.notOk('llm.tokens.input' in request.attributes, 'no token counts invented for a failure')
  t.equal(http.attributes['http.response.status_code'], 500, 'the HTTP span saw the upstream 500')
  t.equal(server.attributes['http.response.status_code'], 502)
})

t.test('Anthropic stream: llm.anthropic.stream in the same tree, cache writes counted', async (t) => {
  upstream.enqueue({ fixture: 'anthropic-messages-cache-write-stream' })
  const answer = await postChat(gateway.url, {
    model: 'claude-3-5-sonnet-20240620',
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 1024,
    messages: [{ role: 'user', content: 'Summarise these articles' }],
  })
  t.equal(answer.status, 200)
  const last = answer.chunks.at(-1) as WithTrace<ChatCompletionChunk> | undefined
  const traceContext = last?.trace_context
  t.ok(traceContext, 'trace_context on the final chunk')
  const spans = await chatSpans(receiver, traceContext?.trace_id ?? '')
  const { request, provider, http } = assertTree(t, spans, 'llm.anthropic.stream')
  t.equal(spans.all.length, 4, 'exactly the four spans of §2.1 (no extra SDK span in between)')
  t.equal(
    upstream.requests.at(-1)?.headers.traceparent,
    `00-${http.traceId}-${http.spanId}-01`,
    'the upstream gets one traceparent, naming the HTTP client span',
  )
  assertIdsReturned(t, request, answer.headers, traceContext)
  // message_start: input 4, cache_creation 1165, cache_read 0; message_delta: output 201.
  t.hasStrict(request.attributes, {
    'llm.provider': 'anthropic',
    'gen_ai.provider.name': 'anthropic',
    'llm.streaming': true,
    'llm.tokens.input': 4 + 1165,
    'llm.tokens.cache_write': 1165,
    'llm.tokens.cache_read': 0,
    'llm.tokens.output': 201,
    'gen_ai.usage.cache_creation.input_tokens': 1165,
    'llm.response.finish_reason': 'stop',
    'llm.cost.total': defined(costOf(last), 'usage.cost_usd'),
  })
  t.type(request.attributes['llm.time_to_first_token'], 'number')
  t.equal(provider.attributes['llm.streaming'], true)
})

t.test('content capture on: prompts and completions as gen_ai.input/output.messages JSON', async (t) => {
  const nonStream = recorded('openai-chat-text-nonstream')
  const streamed = recorded('openai-chat-text-stream-include-usage')
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' }, { fixture: 'openai-chat-text-stream-include-usage' })
  const messages = [{ role: 'user', content: `Tell me a joke ${PROMPT_MARKER}` }]

  const json = await postChat(capturing.url, { model: 'gpt-3.5-turbo', messages })
  const jsonSpans = await chatSpans(receiver, (json.json.trace_context as TraceContextBody).trace_id)
  const request = defined(jsonSpans.request, 'llm.request')
  t.same(JSON.parse(String(request.attributes['gen_ai.input.messages'])), messages, 'input messages as sent')
  const output = JSON.parse(String(request.attributes['gen_ai.output.messages'])) as Array<{ content?: string }>
  t.equal(output[0]?.content, nonStream.text, 'output message as answered')

  const stream = await postChat(capturing.url, { model: 'gpt-4o-mini', stream: true, messages })
  const last = stream.chunks.at(-1) as WithTrace<ChatCompletionChunk> | undefined
  const streamSpans = await chatSpans(receiver, last?.trace_context?.trace_id ?? '')
  const streamRequest = defined(streamSpans.request, 'llm.request')
  t.same(JSON.parse(String(streamRequest.attributes['gen_ai.input.messages'])), messages)
  const streamOutput = JSON.parse(String(streamRequest.attributes['gen_ai.output.messages'])) as Array<{ content?: string }>
  t.equal(streamOutput[0]?.content, streamed.text, 'the streamed text, joined')
})

t.test('no span events anywhere (as in the guide), and no attribute key twice on a span', async (t) => {
  t.ok(receiver.spans.length > 20, 'the spans of the tests above were received')
  const withEvents = receiver.spans.filter((s) => s.events.length > 0)
  t.same(withEvents.map((s) => `${s.name}: ${s.events.map((e) => e.name).join(', ')}`), [], 'no span has events')
  const repeating = receiver.spans.filter((s) => s.repeatedKeys.length > 0)
  t.same(repeating.map((s) => `${s.name}: ${s.repeatedKeys.join(', ')}`), [], 'no span names an attribute twice')
  t.same(receiver.errors, [], 'every export decoded')
})
