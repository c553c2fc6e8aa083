// Issue 10, defect 6: limits that fit an LLM gateway. A request (headers and body) must arrive
// within REQUEST_TIMEOUT_MS, so a body trickled at 1 byte/s is cut off; an answer streamed for
// longer than that is not; connections beyond MAX_CONNECTIONS are refused. And defect 8: a
// request its caller abandoned still leaves its one log line, marked `aborted: true`.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { startGateways } from '../telemetry/helpers.ts'

t.setTimeout(600_000)

const REQUEST_TIMEOUT_MS = 1500
const [gateway, capped] = await startGateways([
  // 400 ms per streamed word: a demo answer streams for many times REQUEST_TIMEOUT_MS.
  { timeoutMs: 300_000, env: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), DEMO_TOKEN_DELAY_MS: '400' } },
  { timeoutMs: 300_000, env: { MAX_CONNECTIONS: '3' } },
])
t.teardown(() => Promise.all([gateway!.stop(), capped!.stop()]))

interface RawExchange {
  /** Everything the gateway sent before the connection closed. */
  received: string
  /** Whether the gateway closed the connection (rather than the test giving up). */
  closedByServer: boolean
}

/**
 * Opens a raw connection to `base`, writes `head`, then `trickle` one byte a second until the
 * gateway closes the connection or `giveUpMs` passes.
 */
async function trickle(base: string, head: string, trickleBytes: string, giveUpMs: number): Promise<RawExchange> {
  const { hostname, port } = new URL(base)
  const socket = connect(Number(port), hostname)
  let received = ''
  let closed = false
  socket.setEncoding('utf8').on('data', (data: string) => (received += data))
  socket.on('error', () => {})
  socket.on('close', () => (closed = true))
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(head)
  const deadline = Date.now() + giveUpMs
  for (const byte of trickleBytes) {
    if (closed || Date.now() > deadline) break
    socket.write(byte)
    await sleep(1000)
  }
  const closedByServer = closed
  socket.destroy()
  return { received, closedByServer }
}

t.test('a body trickled at 1 byte/s is cut off at REQUEST_TIMEOUT_MS', async (t) => {
  const body = JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'x'.repeat(200) }] })
  const head =
    'POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\ncontent-type: application/json\r\n' +
    `content-length: ${body.length}\r\n\r\n`
  // The whole body would take minutes; 60 s is far past the limit and far short of that.
  const exchange = await trickle(gateway!.url, head, body, 60_000)
  t.ok(exchange.closedByServer, 'the gateway closed the connection')
  t.match(exchange.received, /^HTTP\/1\.1 408 Request Timeout\r\n/, 'with a 408 Request Timeout')
  const answer = JSON.parse(exchange.received.slice(exchange.received.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
  t.same(answer, {
    error: {
      message: 'The request (headers and body) was not received within REQUEST_TIMEOUT_MS.',
      type: 'invalid_request_error',
      param: null,
      code: 'request_timeout',
    },
    trace_context: null,
  }, "in OpenAI's error shape")
  let line: Record<string, unknown> | undefined
  for (let i = 0; i < 100 && !line; i++, await sleep(50)) {
    line = gateway!.logs().find((l) => l.msg === 'request' && l.timed_out === true)
  }
  t.match(line, { method: 'POST', url: '/v1/chat/completions', status: 408 }, 'its log line says 408, not a caller gone')
})

t.test('headers trickled at 1 byte/s are cut off too (slowloris)', async (t) => {
  const head = 'GET /health HTTP/1.1\r\nHost: gateway\r\nx-slow: ' + 'y'.repeat(200) + '\r\n\r\n'
  const exchange = await trickle(gateway!.url, '', head, 60_000)
  t.ok(exchange.closedByServer, 'the gateway closed the connection')
  t.notMatch(exchange.received, /200 OK/, 'and never answered the request')
})

t.test('a streamed answer running far past REQUEST_TIMEOUT_MS is not cut off', async (t) => {
  const started = Date.now()
  const stream = await gateway!.client().chat.completions.create({
    model: 'demo-chat',
    messages: [{ role: 'user', content: 'Tell me about the gateway.' }],
    stream: true,
  })
  let text = ''
  let finish: string | null | undefined
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? ''
    finish = chunk.choices[0]?.finish_reason ?? finish
  }
  const elapsed = Date.now() - started
  t.equal(finish, 'stop', 'the stream ended normally')
  t.ok(text.length > 0, 'with an answer')
  t.ok(elapsed > 3 * REQUEST_TIMEOUT_MS, `it ran ${elapsed} ms, well past the ${REQUEST_TIMEOUT_MS} ms limit`)
})

/** Opens a connection, completes one request on it and keeps it open (keep-alive). */
async function heldConnection(base: string): Promise<{ socket: Socket; answered: boolean }> {
  const { hostname, port } = new URL(base)
  const socket = connect(Number(port), hostname)
  socket.on('error', () => {})
  let received = ''
  const answered = await new Promise<boolean>((resolve) => {
    socket.setEncoding('utf8').on('data', (data: string) => {
      received += data
      if (received.includes('\r\n\r\n') && received.includes('"status"')) resolve(true)
    })
    socket.once('close', () => resolve(false))
    socket.write('GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n')
  })
  return { socket, answered }
}

t.test('connections beyond MAX_CONNECTIONS are refused', async (t) => {
  const held = []
  for (let i = 0; i < 3; i++) held.push(await heldConnection(capped!.url))
  t.same(held.map((h) => h.answered), [true, true, true], 'three connections are served and kept')
  const fourth = await heldConnection(capped!.url)
  t.notOk(fourth.answered, 'a fourth is dropped without an answer')
  fourth.socket.destroy()
  for (const h of held) h.socket.destroy()
  // Once they are gone, new connections are served again.
  let again = false
  for (let attempt = 0; attempt < 50 && !again; attempt++) {
    const next = await heldConnection(capped!.url)
    again = next.answered
    next.socket.destroy()
    if (!again) await sleep(100)
  }
  t.ok(again, 'a new connection is served once the others closed')
})

/** The `request` log lines of `path` marked aborted. */
function abortedLines(path: string) {
  return gateway!.logs().filter((l) => l.msg === 'request' && l.url === path && l.aborted === true)
}

t.test('a stream its caller drops leaves one log line: aborted, with method, path and trace ids', async (t) => {
  const controller = new AbortController()
  const response = await fetch(`${gateway!.url}/v1/chat/completions?note=secret-in-query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }], stream: true }),
    signal: controller.signal,
  })
  const traceId = response.headers.get('x-trace-id')
  const reader = response.body!.getReader()
  await reader.read()
  controller.abort()
  await reader.read().catch(() => {})
  // (Other tests' requests to the same path left lines of their own: the one wanted here is the
  // one with this stream's trace id.)
  const mine = () => abortedLines('/v1/chat/completions').filter((l) => l.trace_id === traceId)
  for (let i = 0; i < 200 && mine().length === 0; i++) await sleep(50)
  t.equal(mine().length, 1, 'one line, with the trace id the caller was given')
  const line = mine()[0] ?? {}
  t.equal(line.method, 'POST')
  t.match(line.span_id, /^[0-9a-f]{16}$/)
  t.equal(line.status, 499, "nginx's 499: the client closed the request")
  t.equal(line.model, 'demo-chat')
  t.notMatch(JSON.stringify(gateway!.logs()), /secret-in-query/, 'no query string in the logs')
  await sleep(500)
  const all = gateway!.logs().filter((l) => l.msg === 'request' && l.trace_id === traceId)
  t.equal(all.length, 1, 'and no second line for the same request')
})

t.test('a non-streamed request abandoned before its answer leaves its line too', async (t) => {
  const before = new Set(abortedLines('/v1/chat/completions').map((l) => l.trace_id))
  const controller = new AbortController()
  // The demo answers after 5 token delays (2 s here); the caller leaves after 1 s.
  const chat = fetch(`${gateway!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'non-streamed' }] }),
    signal: controller.signal,
  }).catch(() => undefined)
  await sleep(1000)
  controller.abort()
  await chat
  const fresh = () => abortedLines('/v1/chat/completions').filter((l) => !before.has(l.trace_id))
  for (let i = 0; i < 200 && fresh().length === 0; i++) await sleep(50)
  t.equal(fresh().length, 1, 'one aborted line for it')
  t.equal(fresh()[0]?.status, 499)
  t.match(fresh()[0]?.trace_id, /^[0-9a-f]{32}$/)
})

t.test('bytes that are not HTTP get a 400 in OpenAI\'s error shape, and oversized headers a 431', async (t) => {
  const { hostname, port } = new URL(gateway!.url)
  const exchange = async (bytes: string) => {
    const socket = connect(Number(port), hostname)
    let received = ''
    socket.setEncoding('utf8').on('data', (data: string) => (received += data))
    socket.on('error', () => {})
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(bytes)
    await new Promise((resolve) => socket.once('close', resolve))
    return received
  }
  const garbage = await exchange('NOT HTTP AT ALL\r\n\r\n')
  t.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.match(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)), { error: { type: 'invalid_request_error', message: /not valid HTTP/ } })
  const huge = await exchange(`GET /health HTTP/1.1\r\nHost: gateway\r\nx-big: ${'a'.repeat(64 * 1024)}\r\n\r\n`)
  t.match(huge, /^HTTP\/1\.1 431 /)
  t.match(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4)), { error: { code: 'headers_too_large' } })
})
