// Self-test of the upstream emulator, with plain fetch: if it lied, every gateway test would too.
import t from 'tap'
import { loadFixture } from './fixtures.ts'
import { openaiStreamChunks, sseEvents, startUpstream } from './upstream.ts'

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
