// Issue 13, the response cache: a repeated request is answered from the cache, through every
// ingress API, JSON and streamed, with the clients users have (the `openai` SDK for chat,
// responses and embeddings, `@anthropic-ai/sdk` for /v1/messages). The emulator's log shows the
// repeat never went upstream; the answer says `x-gateway-cache: hit` and its `age`; a streamed
// hit is a stream whose assembled content, tool calls and usage equal the original's; every hit
// has its own trace ids (headers and `trace_context`) and costs $0 (`usage.cost_usd` 0).
import t, { type Test } from 'tap'
import Anthropic from '@anthropic-ai/sdk'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { ResponseStreamEvent } from 'openai/resources/responses/responses'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import { loadFixture } from '../support/fixtures.ts'
import { GATEWAY_KEY, cacheHeaders, headerIds, startCachingGateway, type Json } from './helpers.ts'

t.setTimeout(180_000)

const { gateway, upstream } = await startCachingGateway(t, {
  cache: { ttlSeconds: 600 },
  // Embeddings have no price of their own: one here, so a hit has a saving to show.
  prices: { 'openai/text-embedding-3-small': { input: 0.02, output: 0 } },
})
t.beforeEach(() => upstream.reset())
const openai = gateway.client({ apiKey: GATEWAY_KEY })
const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: GATEWAY_KEY, maxRetries: 0 })

type TraceContext = { trace_id: string; span_id: string }
const recordedBody = (name: string) => JSON.parse(loadFixture(name).request.body) as Json

/** Checks what every hit shares: the headers say hit (with an age), the ids are its own, nothing went upstream. */
function assertHit(
  t: Test,
  first: { headers: Headers; traceContext: TraceContext | undefined },
  hit: { headers: Headers; traceContext: TraceContext | undefined },
  upstreamCalls: number,
): void {
  t.equal(cacheHeaders(first).cache, 'miss', 'the first call is a miss')
  t.equal(cacheHeaders(hit).cache, 'hit', 'the repeat says x-gateway-cache: hit')
  t.match(cacheHeaders(hit).age, /^\d+$/, 'with its age in seconds')
  t.equal(cacheHeaders(hit).target, cacheHeaders(first).target, 'and the target that served the original')
  t.equal(upstream.requests.length, upstreamCalls, 'the repeat never reached the upstream')
  t.not(headerIds(hit).trace_id, headerIds(first).trace_id, 'the hit has its own trace id')
  t.match(headerIds(hit).trace_id, /^[0-9a-f]{32}$/)
  t.strictSame(hit.traceContext, headerIds(hit), "the body's trace_context names the hit's own trace")
}

t.test('chat, JSON: the repeat is the same completion at $0, with its own trace', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Tell me a joke' }] }
  const first = await openai.chat.completions.create(params).withResponse()
  const hit = await openai.chat.completions.create(params).withResponse()
  type WithExtras = { usage: { cost_usd: number }; trace_context: TraceContext }
  const [a, b] = [first.data as unknown as WithExtras & Json, hit.data as unknown as WithExtras & Json]
  assertHit(t, { headers: first.response.headers, traceContext: a.trace_context }, { headers: hit.response.headers, traceContext: b.trace_context }, 1)
  t.ok(a.usage.cost_usd > 0, `the original cost something ($${a.usage.cost_usd})`)
  t.equal(b.usage.cost_usd, 0, 'the hit costs $0')
  const strip = ({ trace_context: _, usage: { cost_usd: __, ...usage }, ...rest }: WithExtras & Json) => ({ ...rest, usage })
  t.strictSame(strip(b), strip(a), 'the same completion: id, choices, model and usage')
})

/** A chat stream as the SDK delivers it, assembled: text, tool calls, the usage chunk, trace_context. */
async function chatStream(params: Record<string, unknown>) {
  const { data, response } = await openai.chat.completions.create({ ...params, stream: true } as never).withResponse()
  const chunks: Array<ChatCompletionChunk & { trace_context?: TraceContext }> = []
  for await (const chunk of data as unknown as AsyncIterable<ChatCompletionChunk>) chunks.push(chunk)
  let text = ''
  const calls: Array<{ id?: string; name: string; arguments: string }> = []
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      text += choice.delta.content ?? ''
      for (const call of choice.delta.tool_calls ?? []) {
        const entry = (calls[call.index] ??= { name: '', arguments: '' })
        if (call.id) entry.id = call.id
        entry.name += call.function?.name ?? ''
        entry.arguments += call.function?.arguments ?? ''
      }
    }
  }
  const usage = chunks.find((c) => c.usage)?.usage as (Json & { cost_usd?: number }) | undefined
  const finish = chunks.flatMap((c) => c.choices.map((choice) => choice.finish_reason)).filter(Boolean)
  return { headers: response.headers, chunks, text, calls, usage, finish, traceContext: chunks.at(-1)?.trace_context }
}

t.test('chat, streamed: the hit is a stream with the same text, tool calls and usage', async (t) => {
  for (const [name, expect] of [
    ['openai-chat-text-stream-include-usage', 'text'],
    ['openai-chat-tool-call-stream-include-usage', 'tool calls'],
  ] as const) {
    upstream.reset()
    upstream.enqueue({ fixture: name })
    const params = { ...recordedBody(name), model: 'gpt-4o-mini', stream_options: { include_usage: true } }
    const first = await chatStream(params)
    const hit = await chatStream(params)
    assertHit(t, first, hit, 1)
    t.ok(hit.headers.get('content-type')?.includes('text/event-stream'), `${expect}: the hit is streamed`)
    t.equal(hit.text, first.text, `${expect}: the same text`)
    t.strictSame(hit.calls, first.calls, `${expect}: the same tool calls`)
    t.strictSame(hit.finish, first.finish, `${expect}: the same finish reasons`)
    t.ok(first.usage && (first.usage.cost_usd ?? 0) > 0, `${expect}: the original's usage chunk has its cost`)
    const { cost_usd: cost, ...usage } = hit.usage ?? {}
    const { cost_usd: _, ...originalUsage } = first.usage ?? {}
    t.strictSame(usage, originalUsage, `${expect}: the same usage chunk (tokens)`)
    t.equal(cost, 0, `${expect}: at $0`)
    t.equal(hit.chunks.length, first.chunks.length, `${expect}: as many chunks`)
    if (expect === 'text') t.ok(first.text.length > 0)
    else t.ok(first.calls.length > 0 && first.calls[0]!.arguments.length > 0)
  }
})

t.test('responses, JSON and streamed: the repeat is the same response at $0', async (t) => {
  upstream.enqueue({ fixture: 'openai-responses-text-nonstream' })
  const params = { model: 'gpt-4o-mini', input: 'Say hello' }
  const first = await openai.responses.create(params).withResponse()
  const hit = await openai.responses.create(params).withResponse()
  type Extras = { usage: { cost_usd: number }; trace_context: TraceContext }
  const [a, b] = [first.data as unknown as Extras, hit.data as unknown as Extras]
  assertHit(t, { headers: first.response.headers, traceContext: a.trace_context }, { headers: hit.response.headers, traceContext: b.trace_context }, 1)
  t.equal(hit.data.output_text, first.data.output_text, 'the same output text')
  t.equal(hit.data.id, first.data.id, 'the same response')
  t.ok(a.usage.cost_usd > 0)
  t.equal(b.usage.cost_usd, 0, 'the hit costs $0')

  upstream.reset()
  upstream.enqueue({ fixture: 'openai-responses-text-stream' })
  const streamParams = { ...recordedBody('openai-responses-text-stream'), model: 'gpt-4o-mini', stream: true as const }
  const streamed = async () => {
    const { data, response } = await openai.responses.create(streamParams as never).withResponse()
    const events: ResponseStreamEvent[] = []
    for await (const event of data as unknown as AsyncIterable<ResponseStreamEvent>) events.push(event)
    const completed = events.find((e) => e.type === 'response.completed') as (ResponseStreamEvent & { response: Json & { usage: Json }; trace_context?: TraceContext }) | undefined
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('')
    return { headers: response.headers, events, text, completed, traceContext: (events.at(-1) as { trace_context?: TraceContext }).trace_context }
  }
  const one = await streamed()
  const two = await streamed()
  assertHit(t, one, two, 1)
  t.ok(one.text.length > 0)
  t.equal(two.text, one.text, 'the streamed hit has the same text')
  t.strictSame(
    two.events.map((e) => e.type),
    one.events.map((e) => e.type),
    'the same events in the same order',
  )
  const { cost_usd: cost, ...usage } = two.completed!.response.usage
  const { cost_usd: originalCost, ...originalUsage } = one.completed!.response.usage
  t.strictSame(usage, originalUsage, "response.completed's usage is the original's")
  t.ok((originalCost as number) > 0)
  t.equal(cost, 0, 'at $0')
})

t.test('/v1/messages with the Anthropic SDK, JSON and streamed: the repeat is the same Message at $0', async (t) => {
  upstream.enqueue(jsonReply('anthropic-messages-text-nonstream'))
  const params = { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [{ role: 'user' as const, content: 'Hello, Claude' }] }
  const first = await anthropic.messages.create(params).withResponse()
  const hit = await anthropic.messages.create(params).withResponse()
  type Extras = { usage: { cost_usd: number }; trace_context: TraceContext }
  const [a, b] = [first.data as unknown as Extras, hit.data as unknown as Extras]
  assertHit(t, { headers: first.response.headers, traceContext: a.trace_context }, { headers: hit.response.headers, traceContext: b.trace_context }, 1)
  t.strictSame(hit.data.content, first.data.content, 'the same content')
  t.ok(a.usage.cost_usd > 0)
  t.equal(b.usage.cost_usd, 0, 'the hit costs $0')

  upstream.reset()
  upstream.enqueue(sseReply('anthropic-messages-tool-use-stream'))
  const request = recordedBody('anthropic-messages-tool-use-stream')
  const streamParams = { model: 'claude-sonnet-4-6', max_tokens: 1024, tools: request.tools, messages: [{ role: 'user', content: 'Weather and time in San Francisco?' }] }
  const streamed = async () => {
    const stream = anthropic.messages.stream(streamParams as never)
    let delta: Json | undefined
    let stop: Json | undefined
    stream.on('streamEvent', (event) => {
      if (event.type === 'message_delta') delta = event.usage as unknown as Json
      if (event.type === 'message_stop') stop = event as unknown as Json
    })
    const { response } = await stream.withResponse()
    const message = await stream.finalMessage()
    return { headers: response.headers, message, delta, traceContext: stop?.trace_context as TraceContext | undefined }
  }
  const one = await streamed()
  const two = await streamed()
  assertHit(t, one, two, 1)
  t.ok(one.message.content.some((block) => block.type === 'tool_use'), 'the original has tool_use blocks')
  t.strictSame(two.message.content, one.message.content, 'the streamed hit assembles to the same content, tool inputs included')
  t.strictSame(two.message.usage, one.message.usage, "the same usage (message_start's input, message_delta's output)")
  const { cost_usd: cost, ...usage } = two.delta!
  const { cost_usd: originalCost, ...originalUsage } = one.delta!
  t.strictSame(usage, originalUsage, "the final message_delta's usage is the original's")
  t.ok((originalCost as number) > 0)
  t.equal(cost, 0, 'at $0')
})

t.test('embeddings: the repeat is the same vectors at $0', async (t) => {
  upstream.enqueue({ embeddings: true })
  const params = { model: 'text-embedding-3-small', input: ['one', 'two'] }
  const first = await openai.embeddings.create(params).withResponse()
  const hit = await openai.embeddings.create(params).withResponse()
  type Extras = { usage: { cost_usd: number }; trace_context: TraceContext }
  const [a, b] = [first.data as unknown as Extras, hit.data as unknown as Extras]
  assertHit(t, { headers: first.response.headers, traceContext: a.trace_context }, { headers: hit.response.headers, traceContext: b.trace_context }, 1)
  t.strictSame(
    hit.data.data.map((d) => d.embedding),
    first.data.data.map((d) => d.embedding),
    'the same vectors (the SDK decoded both from base64)',
  )
  t.strictSame(hit.data.usage.prompt_tokens, first.data.usage.prompt_tokens)
  t.ok(a.usage.cost_usd > 0)
  t.equal(b.usage.cost_usd, 0, 'the hit costs $0')
})
