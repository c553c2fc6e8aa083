// Every recorded Anthropic exchange replayed through POST /v1/messages to the emulated Anthropic,
// streamed and not (each recording in its own mode and in the other one, derived by
// test/support/fixture-variants.ts). The contract of the passthrough: the body reaches Anthropic
// as the client sent it apart from `model`; the bytes the client gets are Anthropic's, apart from
// the gateway's documented additions (`usage.cost_usd` and `trace_context` in the JSON answer;
// `usage.cost_usd` in the final `message_delta`, `trace_context` in `message_stop`); every other
// event's JSON text arrives byte for byte. The usage on the `llm.request` span and in the guide's
// metrics is the recording's, cache reads and writes included. Recorded errors come back in
// Anthropic's shape.
import t, { type Test } from 'tap'
import { fixtureNames, loadFixture } from '../support/fixtures.ts'
import { anthropicSseToMessage, jsonReply, recordedAsStream, sseReply } from '../support/fixture-variants.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { sseEvents } from '../support/sse.ts'
import { startObservedGateway, WAIT_MS } from '../telemetry/helpers.ts'
import { GATEWAY_KEY, headerIds, postMessages, type Json, type MessagesAnswer } from './helpers.ts'

t.setTimeout(240_000)

/** Anthropic's own counts: `input` excludes the cache reads and writes. */
interface Expected {
  input: number
  cacheRead: number
  cacheWrite: number
  cacheWrite1h: number
  output: number
  costUsd: number
}

// Written out by hand from the recordings (the first test checks them against the recordings).
// Costs, USD per million tokens from src/providers/anthropic/prices.ts, for the recorded model:
// input × input + read × cacheRead + write × cacheWrite (5 m or 1 h) + output × output.
const EXPECTED: Record<string, Expected> = {
  // claude-3-5-sonnet $3 / read $0.3 / write $3.75 / $15: 4 × 3 + 1163 × 0.3 + 202 × 15 = 3390.9 µ$
  'anthropic-messages-cache-read-nonstream': { input: 4, cacheRead: 1163, cacheWrite: 0, cacheWrite1h: 0, output: 202, costUsd: 0.0033909 },
  // claude-sonnet-4 $3 / 1h write $6 / $15: 17 × 3 + 2056 × 6 + 100 × 15 = 13887 µ$
  'anthropic-messages-cache-write-1h-ttl-nonstream': { input: 17, cacheRead: 0, cacheWrite: 2056, cacheWrite1h: 2056, output: 100, costUsd: 0.013887 },
  // claude-3-5-sonnet: 4 × 3 + 1163 × 3.75 + 187 × 15 = 7178.25 µ$
  'anthropic-messages-cache-write-nonstream': { input: 4, cacheRead: 0, cacheWrite: 1163, cacheWrite1h: 0, output: 187, costUsd: 0.00717825 },
  // claude-3-5-sonnet: 4 × 3 + 1165 × 3.75 + 201 × 15 = 7395.75 µ$ (output from message_delta, not message_start's 1)
  'anthropic-messages-cache-write-stream': { input: 4, cacheRead: 0, cacheWrite: 1165, cacheWrite1h: 0, output: 201, costUsd: 0.00739575 },
  // claude-3-opus $15 / $75: 17 × 15 + 220 × 75 = 16755 µ$ (recorded before cache fields existed)
  'anthropic-messages-text-nonstream-legacy-usage': { input: 17, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 220, costUsd: 0.016755 },
  // claude-3-opus: 17 × 15 + 137 × 75 = 10530 µ$
  'anthropic-messages-text-nonstream': { input: 17, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 137, costUsd: 0.01053 },
  // claude-3-haiku $0.25 / $1.25: 17 × 0.25 + 171 × 1.25 = 218 µ$
  'anthropic-messages-text-stream': { input: 17, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 171, costUsd: 0.000218 },
  // claude-opus-4-1 $15 / $75: 49 × 15 + 186 × 75 = 14685 µ$
  'anthropic-messages-thinking-nonstream-opus41-beta': { input: 49, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 186, costUsd: 0.014685 },
  // claude-3-7-sonnet $3 / $15: 52 × 3 + 215 × 15 = 3381 µ$
  'anthropic-messages-thinking-nonstream': { input: 52, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 215, costUsd: 0.003381 },
  // claude-3-5-sonnet: 514 × 3 + 152 × 15 = 3822 µ$
  'anthropic-messages-tool-use-nonstream': { input: 514, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 152, costUsd: 0.003822 },
  // claude-3-5-sonnet: 506 × 3 + 153 × 15 = 3813 µ$
  'anthropic-messages-tool-use-stream': { input: 506, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 153, costUsd: 0.003813 },
}

const ALL = fixtureNames('anthropic-messages-')
const REPLAYED = ALL.filter((name) => loadFixture(name).meta.http_status === 200)
const ERRORS = ALL.filter((name) => loadFixture(name).meta.http_status !== 200)

const { gateway, receiver, upstream } = await startObservedGateway(t, { GATEWAY_API_KEYS: GATEWAY_KEY })

/** The recorded request body, `stream` as asked, `model` as given. */
function params(name: string, stream: boolean, model?: string): Json {
  const { stream: _recorded, ...body } = JSON.parse(loadFixture(name).request.body) as Json
  return { ...body, ...(model !== undefined && { model }), ...(stream && { stream: true }) }
}

/** The recorded request's anthropic-version and anthropic-beta headers. */
function anthropicHeaders(name: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [header, values] of Object.entries(loadFixture(name).request.headers)) {
    if (header.toLowerCase().startsWith('anthropic-')) out[header.toLowerCase()] = values.join(', ')
  }
  return out
}

/** The body text the emulator served for a reply (a recording, or a derived variant). */
function served(reply: ReturnType<typeof jsonReply>): string {
  return 'fixture' in reply ? loadFixture(reply.fixture).response.body : String(reply.body)
}

/** The Anthropic usage numbers a recording holds (a stream's: message_start's, then message_delta's). */
function recordedNumbers(name: string): Omit<Expected, 'costUsd'> {
  const fixture = loadFixture(name)
  const usage = (recordedAsStream(name) ? anthropicSseToMessage(fixture.response.body).usage : JSON.parse(fixture.response.body).usage) as Json
  const cacheCreation = usage.cache_creation as Json | undefined
  return {
    input: Number(usage.input_tokens),
    cacheRead: Number(usage.cache_read_input_tokens ?? 0),
    cacheWrite: Number(usage.cache_creation_input_tokens ?? 0),
    cacheWrite1h: Number(cacheCreation?.ephemeral_1h_input_tokens ?? 0),
    output: Number(usage.output_tokens),
  }
}

/** The guide's metrics for Anthropic, as /metrics shows them now. */
async function anthropicMetrics(): Promise<Record<string, number>> {
  const text = await scrapeMetrics(gateway.url, GATEWAY_KEY)
  const labels = { llm_provider: 'anthropic' }
  const names = ['llm_requests_total', 'llm_tokens_input_total', 'llm_tokens_output_total', 'llm_cache_read_tokens_total', 'llm_cache_write_tokens_total', 'llm_cost_total_usd']
  return Object.fromEntries(names.map((name) => [name, metricSum(text, name, labels)]))
}

/** The span and metric checks of one call: the recording's usage, the price book's cost. */
async function checkTelemetry(t: Test, answer: MessagesAnswer, expected: Expected, before: Record<string, number>, stream: boolean): Promise<void> {
  const traceId = answer.headers.get('x-trace-id')
  const [span] = await receiver.waitForSpans((s) => s.traceId === traceId && s.name === 'llm.request', 1, WAIT_MS)
  const prompt = expected.input + expected.cacheRead + expected.cacheWrite
  t.match(
    span!.attributes,
    {
      'llm.api': 'messages',
      'llm.provider': 'anthropic',
      'llm.streaming': stream,
      'gen_ai.usage.input_tokens': prompt,
      'gen_ai.usage.output_tokens': expected.output,
      'gen_ai.usage.cache_read.input_tokens': expected.cacheRead,
      'gen_ai.usage.cache_creation.input_tokens': expected.cacheWrite,
      'llm.tokens.input': prompt,
      'llm.tokens.output': expected.output,
      'llm.tokens.total': prompt + expected.output,
      'llm.tokens.cache_read': expected.cacheRead,
      'llm.tokens.cache_write': expected.cacheWrite,
      'llm.cost.total': expected.costUsd,
    },
    `stream ${stream}: the recording's usage on llm.request (input counts the cache reads and writes)`,
  )
  t.notOk('llm.usage.missing' in span!.attributes, `stream ${stream}: metered`)
  // llm.request ends just before its metrics are recorded, in the same tick: by the time the span
  // was exported, the counters have moved.
  const after = await anthropicMetrics()
  const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0)
  t.strictSame(
    {
      requests: delta('llm_requests_total'),
      input: delta('llm_tokens_input_total'),
      output: delta('llm_tokens_output_total'),
      cacheRead: delta('llm_cache_read_tokens_total'),
      cacheWrite: delta('llm_cache_write_tokens_total'),
    },
    { requests: 1, input: prompt, output: expected.output, cacheRead: expected.cacheRead, cacheWrite: expected.cacheWrite },
    `stream ${stream}: the guide's token metrics rose by the recording's numbers`,
  )
  t.ok(Math.abs(delta('llm_cost_total_usd') - expected.costUsd) < 1e-12, `stream ${stream}: llm_cost_total_usd rose by the cost`)
}

t.test('the expectations cover every 200 recording and match it', async (t) => {
  t.strictSame(Object.keys(EXPECTED).sort(), REPLAYED, 'one expectation per 200 recording, no more')
  for (const name of REPLAYED) {
    const { costUsd: _cost, ...numbers } = EXPECTED[name]!
    t.strictSame(numbers, recordedNumbers(name), `${name}: the recorded numbers`)
  }
  t.ok(ERRORS.length >= 2, 'the error recordings are replayed below')
})

for (const name of REPLAYED) {
  const expected = EXPECTED[name]!
  const modes = recordedAsStream(name) ? 'recorded SSE, derived JSON' : 'recorded JSON, derived SSE'

  t.test(`${name} (${modes})`, async (t) => {
    upstream.reset()
    const recordedModel = String(params(name, false).model)
    const headers = anthropicHeaders(name)

    // Not streamed, with the bare model the recording names.
    const json = jsonReply(name)
    const upstreamJson = served(json)
    upstream.enqueue(json)
    let before = await anthropicMetrics()
    const sentPlain = params(name, false)
    const plain = await postMessages(gateway.url, sentPlain, headers)
    t.equal(plain.status, 200)
    t.match(plain.headers.get('content-type'), /^application\/json/)
    const ids = headerIds(plain)
    t.match(ids, { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/ })
    const message = JSON.parse(upstreamJson) as Json & { usage: Json }
    t.equal(
      plain.text,
      JSON.stringify({ ...message, usage: { ...message.usage, cost_usd: expected.costUsd }, trace_context: ids }),
      "the JSON answer is Anthropic's bytes plus usage.cost_usd (the price book's) and trace_context (the headers' ids)",
    )
    await checkTelemetry(t, plain, expected, before, false)

    // Streamed, with the `anthropic/` prefix the gateway strips.
    const sse = sseReply(name)
    const upstreamSse = served(sse)
    upstream.enqueue(sse)
    before = await anthropicMetrics()
    const sentStreamed = params(name, true, `anthropic/${recordedModel}`)
    const streamed = await postMessages(gateway.url, sentStreamed, headers)
    t.equal(streamed.status, 200)
    t.match(streamed.headers.get('content-type'), /^text\/event-stream/)
    const streamIds = headerIds(streamed)
    t.not(streamIds.trace_id, ids.trace_id, 'each call is its own trace')
    const recordedEvents = sseEvents(upstreamSse)
    t.strictSame(
      streamed.events.map((e) => e.event),
      recordedEvents.map((e) => e.event),
      'the same events, in the same order (ping included)',
    )
    const changed: string[] = []
    streamed.events.forEach((event, i) => {
      const recorded = recordedEvents[i]
      if (!recorded || event.data === recorded.data) return
      changed.push(String(event.event))
      const data = JSON.parse(recorded.data) as Json & { usage?: Json }
      const expectedData =
        event.event === 'message_delta' ? { ...data, usage: { ...data.usage, cost_usd: expected.costUsd } }
        : event.event === 'message_stop' ? { ...data, trace_context: streamIds }
        : data
      t.strictSame(JSON.parse(event.data), expectedData, `${event.event}: Anthropic's event plus the gateway's addition only`)
    })
    t.strictSame(changed, ['message_delta', 'message_stop'], 'every other event reached the client byte for byte')
    // The whole body, byte for byte: the recording's framing (`event:` then `data:`, a blank
    // line), the two changed events re-serialised in Anthropic's key order plus the additions.
    const frame = (event: string | undefined, data: string) => `event: ${event}\ndata: ${data}\n\n`
    t.equal(recordedEvents.map((e) => frame(e.event, e.data)).join(''), upstreamSse, '(the recording is framed that way)')
    const expectedText = recordedEvents
      .map((e) => {
        const data = JSON.parse(e.data) as Json & { usage?: Json }
        if (e.event === 'message_delta') return frame(e.event, JSON.stringify({ ...data, usage: { ...data.usage, cost_usd: expected.costUsd } }))
        if (e.event === 'message_stop') return frame(e.event, JSON.stringify({ ...data, trace_context: streamIds }))
        return frame(e.event, e.data)
      })
      .join('')
    t.equal(streamed.text, expectedText, 'the streamed body is the recording plus the documented additions')
    await checkTelemetry(t, streamed, expected, before, true)

    // What reached Anthropic: the client's body, apart from `model`; its headers, with the
    // gateway's key in place of the caller's.
    const [toPlain, toStreamed] = await upstream.waitForRequests(2)
    t.equal(toPlain!.path, '/v1/messages')
    t.equal(toPlain!.rawBody, JSON.stringify(sentPlain), 'the plain body passed through byte for byte')
    t.equal(toStreamed!.rawBody, JSON.stringify({ ...sentStreamed, model: recordedModel }), 'the streamed body too, the routing prefix stripped')
    for (const sent of [toPlain!, toStreamed!]) {
      for (const [header, value] of Object.entries(headers)) t.equal(sent.headers[header], value, `${header} passed on`)
      t.equal(sent.headers['x-api-key'], 'sk-ant-test', "the gateway's Anthropic key")
      t.notOk(JSON.stringify(sent.headers).includes(GATEWAY_KEY), 'the caller key is not forwarded')
    }
  })
}

/** A valid request answered by an error recording (the recorded requests were not all valid). */
async function replayError(fixture: string, stream: boolean): Promise<MessagesAnswer> {
  upstream.reset()
  upstream.enqueue({ fixture })
  const body = { model: 'claude-3-opus-20240229', max_tokens: 15, messages: [{ role: 'user', content: 'Hello' }] }
  return postMessages(gateway.url, stream ? { ...body, stream: true } : body)
}

t.test("a recorded 400 stays a 400 invalid_request_error with Anthropic's message, streamed or not", async (t) => {
  for (const stream of [false, true]) {
    const answer = await replayError('anthropic-messages-error-400-invalid-request', stream)
    t.equal(answer.status, 400, `stream ${stream}: the status`)
    t.strictSame(
      answer.json,
      {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'messages.0: Input does not match the expected shape.' },
        trace_context: headerIds(answer),
      },
      `stream ${stream}: Anthropic's error, its words, trace_context beside it`,
    )
  }
})

t.test("the recorded 400's own body is refused by the gateway (400 naming the field) before Anthropic", async (t) => {
  upstream.reset()
  const answer = await postMessages(gateway.url, JSON.parse(loadFixture('anthropic-messages-error-400-invalid-request').request.body))
  t.equal(answer.status, 400)
  t.match(answer.json, { type: 'error', error: { type: 'invalid_request_error', message: /messages/ }, trace_context: Object })
  t.equal(upstream.requests.length, 0, 'nothing was sent to Anthropic')
})

t.test("Anthropic refusing the gateway's key (recorded 401) is the gateway's failure: 502 api_error", async (t) => {
  for (const stream of [false, true]) {
    const answer = await replayError('anthropic-messages-error-401-authentication', stream)
    t.equal(answer.status, 502, `stream ${stream}: not the caller's 401 (its own key was fine)`)
    t.match(answer.json, { type: 'error', error: { type: 'api_error', message: String }, trace_context: headerIds(answer) })
    const [span] = await receiver.waitForSpans((s) => s.traceId === answer.headers.get('x-trace-id') && s.name === 'llm.request', 1, WAIT_MS)
    t.equal(span!.status.code, 'ERROR', `stream ${stream}: llm.request failed`)
    t.equal(span!.attributes['error.type'], 'upstream_auth')
  }
})
