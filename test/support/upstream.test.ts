// Self-test of the upstream emulator, with plain fetch and the openai SDK: if it lied, every
// gateway test would too.
import t from 'tap'
import OpenAI from 'openai'
import type { Response as OpenAIResponse, ResponseCreateParamsNonStreaming, ResponseCreateParamsStreaming } from 'openai/resources/responses/responses'
import { fixtureNames, loadFixture } from './fixtures.ts'
import { jsonReply, sseReply } from './fixture-variants.ts'
import { openaiStreamChunks, sseEvents, startUpstream } from './upstream.ts'
import { emulatedTokens, emulatedVector } from './upstream-embeddings.ts'

const up = await startUpstream({ seed: 7 })
t.teardown(() => up.close())
t.beforeEach(() => up.reset())

const post = (path: string, body: unknown = { model: 'm' }, signal?: AbortSignal) =>
  fetch(`${up.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
    body: JSON.stringify(body),
    signal,
  })

/** Every read of the body, so a test can see both the bytes and how they were split. */
async function reads(res: Response): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  const reader = res.body!.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value)
  return out
}

t.test('replays a JSON fixture: status, body, no stale encoding headers; records the request', async (t) => {
  const name = 'openai-chat-text-nonstream'
  up.enqueue({ fixture: name })
  const res = await post('/v1/chat/completions', { model: 'gpt-3.5-turbo', messages: [] })
  t.equal(res.status, 200)
  t.equal(await res.text(), loadFixture(name).response.body)
  t.equal(res.headers.get('content-encoding'), null)
  t.equal(res.headers.get('x-request-id'), 'req_e0329954cae2411b8525c7a73c1e673c')
  const [rec] = await up.waitForRequests(1)
  t.match(rec, { method: 'POST', path: '/v1/chat/completions', body: { model: 'gpt-3.5-turbo' }, aborted: false })
  t.equal(rec?.headers['x-api-key'], 'k')
})

t.test('replays an error fixture with its status', async (t) => {
  up.enqueue({ fixture: 'anthropic-messages-error-401-authentication' })
  const res = await post('/v1/messages')
  t.equal(res.status, 401)
  t.equal(await res.text(), loadFixture('anthropic-messages-error-401-authentication').response.body)
})

t.test('streams an SSE fixture in several reads, byte-exact', async (t) => {
  const name = 'openai-chat-text-stream-include-usage'
  up.enqueue({ fixture: name })
  const res = await post('/v1/chat/completions')
  t.match(res.headers.get('content-type'), /text\/event-stream/)
  const got = await reads(res)
  t.ok(got.length > 1, `arrived in ${got.length} reads`)
  t.same(Buffer.concat(got), Buffer.from(loadFixture(name).response.body))
  const chunks = openaiStreamChunks(Buffer.concat(got).toString())
  t.equal(chunks.length, loadFixture(name).meta.summary.n_data_events as number - 1) // minus [DONE]
  t.ok(chunks.at(-1)?.usage)
})

t.test('custom 429 with retry-after, served in queue order then the default', async (t) => {
  up.enqueue({ status: 429, headers: { 'retry-after': '2' }, json: { error: { message: 'slow down' } } })
  up.setDefault({ status: 529, json: { type: 'error', error: { type: 'overloaded_error' } } })
  const first = await post('/v1/chat/completions')
  t.equal(first.status, 429)
  t.equal(first.headers.get('retry-after'), '2')
  t.same(await first.json(), { error: { message: 'slow down' } })
  for (let i = 0; i < 2; i++) {
    const res = await post('/v1/messages')
    t.equal(res.status, 529)
    await res.arrayBuffer()
  }
})

t.test('hang, then the client aborts: the record says aborted', async (t) => {
  up.enqueue({ hang: true })
  const ac = new AbortController()
  const pending = post('/v1/messages', { model: 'm' }, ac.signal)
  await up.waitForRequests(1)
  ac.abort()
  await t.rejects(pending)
  const rec = await up.waitForAbort(0, 2000)
  t.equal(rec.aborted, true)
  t.type(rec.closedAt, 'number')
})

t.test('delayMs holds the first byte back', async (t) => {
  up.enqueue({ status: 200, json: {}, delayMs: 40 })
  const start = performance.now()
  await (await post('/v1/messages')).arrayBuffer()
  t.ok(performance.now() - start >= 35)
  t.equal(up.requests[0]?.aborted, false)
})

t.test('resetAfterBytes: headers and exactly N bytes arrive, then the body read rejects', async (t) => {
  const name = 'anthropic-messages-text-stream'
  up.enqueue({ fixture: name, resetAfterBytes: 300 })
  const res = await post('/v1/messages')
  t.equal(res.status, 200)
  const got: Uint8Array[] = []
  const reader = res.body!.getReader()
  await t.rejects(async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) got.push(r.value)
  })
  t.same(Buffer.concat(got), Buffer.from(loadFixture(name).response.body).subarray(0, 300))
  t.equal(up.requests[0]?.aborted, false, 'a cut we made is not a client abort')
})

t.test('resetBeforeHeaders: fetch rejects', async (t) => {
  up.enqueue({ resetBeforeHeaders: true })
  await t.rejects(post('/v1/chat/completions'))
})

t.test('unscripted request: 500 that names the request', async (t) => {
  const res = await post('/v1/chat/completions')
  t.equal(res.status, 500)
  t.match(await res.json(), { error: { message: 'no reply scripted for POST /v1/chat/completions' } })
})

t.test('sseEvents reads an Anthropic stream into the recorded event counts', async (t) => {
  for (const name of ['anthropic-messages-text-stream', 'anthropic-messages-tool-use-stream']) {
    up.enqueue({ fixture: name })
    const text = await (await post('/v1/messages')).text()
    const counts: Record<string, number> = {}
    for (const { event, data } of sseEvents(text)) {
      const parsed = JSON.parse(data) as { content_block?: { type: string }; delta?: { type?: string } }
      // The recorded counts key block events by their block / delta type.
      const sub =
        event === 'content_block_start' ? parsed.content_block?.type
        : event === 'content_block_delta' ? parsed.delta?.type
        : undefined
      const key = sub ? `${event}:${sub}` : String(event)
      counts[key] = (counts[key] ?? 0) + 1
    }
    t.same(counts, loadFixture(name).meta.summary.event_counts, name)
  }
})

t.test('sseEvents follows the WHATWG rules', async (t) => {
  const text = [
    '\uFEFF: comment\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\n', // CRLF, BOM, comment, 2 data lines
    'data\n\n', // a field with no colon: empty data, still dispatched
    'id: 3\nretry: 5\n\n', // no data: nothing dispatched
    'event: b\rdata:  x\r\r', // CR line ends; only one space is stripped
    'event: lost\ndata: unterminated\n', // no blank line before EOF: dropped
  ].join('')
  t.same(sseEvents(text), [{ event: 'a', data: 'one\ntwo' }, { data: '' }, { event: 'b', data: ' x' }])
})

// ---------------------------------------------------------------- the Responses API and embeddings
// The official client pointed straight at the emulator: if the SDK parses what the emulator
// serves, with the recorded usage, a gateway test that sees something else has found a gateway bug.

const sdk = new OpenAI({ apiKey: 'sk-test', baseURL: up.openaiBaseURL, maxRetries: 0 })
const RESPONSES = fixtureNames('openai-responses-').filter((name) => loadFixture(name).meta.http_status === 200)

/** The recorded request, as the test sends it through the SDK, with `stream` set as asked. */
function recordedParams(name: string, stream: boolean): Record<string, unknown> {
  const body = JSON.parse(loadFixture(name).request.body) as Record<string, unknown>
  const { stream: _recorded, ...rest } = body
  return stream ? { ...rest, stream: true } : rest
}

t.test('every Responses recording replays through the openai SDK, plain and streamed, with the recorded usage', async (t) => {
  t.ok(RESPONSES.length >= 6, `${RESPONSES.length} recordings`)
  for (const name of RESPONSES) {
    const usage = loadFixture(name).meta.usage
    up.reset()
    up.enqueue(jsonReply(name))
    const plain = await sdk.responses.create(recordedParams(name, false) as unknown as ResponseCreateParamsNonStreaming)
    t.strictSame(plain.usage, usage, `${name}: plain usage`)
    t.equal(plain.object, 'response')

    up.enqueue(sseReply(name))
    const stream = await sdk.responses.create(recordedParams(name, true) as unknown as ResponseCreateParamsStreaming)
    const types: string[] = []
    let completed: OpenAIResponse | undefined
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'response.completed') completed = event.response
    }
    t.equal(types[0], 'response.created', `${name}: the stream opens with response.created`)
    t.strictSame(completed?.usage, usage, `${name}: streamed usage`)
    t.strictSame(completed?.output, plain.output, `${name}: streamed output = plain output`)

    const [sentPlain, sentStreamed] = await up.waitForRequests(2)
    t.match(sentPlain, { method: 'POST', path: '/v1/responses', body: recordedParams(name, false) }, `${name}: what went upstream`)
    t.strictSame(sentStreamed?.body, recordedParams(name, true))
  }
})

t.test("the SDK's stream accumulator rebuilds each streamed Response (derived streams are consistent)", async (t) => {
  for (const name of RESPONSES) {
    up.enqueue(sseReply(name))
    const final = await sdk.responses.stream(recordedParams(name, true) as unknown as ResponseCreateParamsStreaming).finalResponse()
    t.strictSame(final.usage, loadFixture(name).meta.usage, name)
    const expected = JSON.parse(bodyOf(jsonReply(name))) as OpenAIResponse
    t.match(final.output, expected.output, `${name}: the output items rebuilt from the events`)
  }
})

t.test('GET and DELETE /v1/responses/{id}: scripted replies by route, the requests recorded', async (t) => {
  const stored = JSON.parse(loadFixture('openai-responses-text-nonstream').response.body) as OpenAIResponse
  up.enqueue({ status: 500, json: { error: { message: 'the general queue is for the next POST' } } })
  up.enqueueFor('GET /v1/responses/{id}', { status: 200, json: stored })
  up.enqueueFor('DELETE /v1/responses/{id}', { status: 200, json: { id: stored.id, object: 'response', deleted: true } })
  const got = await sdk.responses.retrieve(stored.id)
  t.equal(got.output_text, 'The capital of France is Paris.')
  await sdk.responses.delete(stored.id)
  t.match(up.requests, [
    { method: 'GET', path: `/v1/responses/${stored.id}` },
    { method: 'DELETE', path: `/v1/responses/${stored.id}` },
  ])
  up.enqueueFor('GET /v1/responses/{id}', { fixture: 'openai-responses-error-401-invalid-api-key' })
  t.match(await sdk.responses.retrieve('resp_unknown').catch((err: unknown) => err), { status: 401 })
  const post = await sdk.responses.create({ model: 'gpt-4.1', input: 'x' }).catch((err: unknown) => err)
  t.match(post, { status: 500 }, 'the general queue was left for the POST')
})

t.test('POST /v1/embeddings: the OpenAPI shape, base64 (the SDK default) and float, usage counted', async (t) => {
  up.setDefault({ embeddings: { dimensions: 4 } })
  const decoded = await sdk.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'hi'] })
  t.match(decoded, { object: 'list', model: 'text-embedding-3-small' })
  t.equal(emulatedTokens('hello world') + emulatedTokens('hi'), 3 + 1, 'characters / 4, rounded up')
  t.strictSame(decoded.usage, { prompt_tokens: 4, total_tokens: 4 })
  t.strictSame(decoded.data.map((d) => [d.object, d.index]), [['embedding', 0], ['embedding', 1]])
  t.strictSame(Array.from(decoded.data[1]!.embedding), emulatedVector(1, 4), 'base64 decodes to the vector')
  const floats = await sdk.embeddings.create({ model: 'text-embedding-3-large', input: [1, 2, 3], encoding_format: 'float', dimensions: 3 })
  t.strictSame(floats.data[0]?.embedding, emulatedVector(0, 3))
  t.strictSame(floats.usage, { prompt_tokens: 3, total_tokens: 3 }, 'a token array counts its tokens')
  t.match(up.requests, [
    { method: 'POST', path: '/v1/embeddings', body: { encoding_format: 'base64', input: ['hello world', 'hi'] } },
    { path: '/v1/embeddings', body: { encoding_format: 'float', dimensions: 3 } },
  ])
})

t.test('faults on the new paths: 429 with retry-after, 5xx, a hang, a reset mid-stream', async (t) => {
  const params = recordedParams('openai-responses-text-stream', false) as unknown as ResponseCreateParamsNonStreaming
  up.enqueue({ status: 429, headers: { 'retry-after': '3' }, json: { error: { message: 'slow down', type: 'rate_limit_exceeded' } } })
  const limited = await sdk.responses.create(params).catch((err: unknown) => err)
  t.match(limited, { status: 429, headers: {} })
  t.equal((limited as { headers: Headers }).headers.get('retry-after'), '3')
  up.enqueueFor('POST /v1/embeddings', { status: 503, json: { error: { message: 'overloaded' } } })
  t.match(await sdk.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).catch((err: unknown) => err), { status: 503 })

  up.enqueue({ hang: true })
  const ac = new AbortController()
  const pending = sdk.responses.create(params, { signal: ac.signal })
  await up.waitForRequests(3)
  ac.abort()
  await t.rejects(pending)
  t.equal((await up.waitForAbort(2, 2000)).path, '/v1/responses')

  const name = 'openai-responses-text-nonstream'
  const body = bodyOf(sseReply(name))
  const cutAt = body.indexOf('event: response.output_text.done')
  up.enqueue({ ...sseReply(name), resetAfterBytes: cutAt })
  const stream = await sdk.responses.create(recordedParams(name, true) as unknown as ResponseCreateParamsStreaming)
  const seen: string[] = []
  await t.rejects(async () => {
    for await (const event of stream) seen.push(event.type)
  })
  t.ok(seen.includes('response.output_text.delta') && !seen.includes('response.completed'), `cut after ${seen.length} events`)
})

/** The body a reply serves (a derived one, or the recording's). */
function bodyOf(reply: ReturnType<typeof sseReply>): string {
  return 'fixture' in reply ? loadFixture(reply.fixture).response.body : String(reply.body)
}
