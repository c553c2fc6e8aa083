// upstreamRequest (src/providers/upstream-request.ts): undici's request() on its dispatch API. What
// a user would notice if it broke: an answer's status, headers or body wrong; a caller who left
// whose upstream call goes on (tokens paid for nobody); a stream read to its end that closes the
// keep-alive connection; listeners left on a signal an agent run reuses for many calls.
import t, { type Test } from 'tap'
import { getEventListeners } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OriginPools } from '../../src/providers/upstream-client.ts'
import { UpstreamBody, upstreamRequest, WholeBody } from '../../src/providers/upstream-request.ts'

interface Upstream {
  origin: string
  connections: () => number
  /** Resolves when the server saw the request's connection close. */
  closed: () => Promise<void>
  http: Server
}

async function upstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  let connections = 0
  let onClose: () => void = () => {}
  const http = createServer(handler)
  http.on('connection', (socket) => {
    connections++
    socket.on('close', () => onClose())
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    connections: () => connections,
    closed: () => new Promise<void>((resolve) => (onClose = resolve)),
    http,
  }
}

function setup(t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const pools = new OriginPools({ keepAliveTimeout: 30_000 })
  return upstream(handler).then((server) => {
    t.teardown(async () => {
      await pools.destroy()
      server.http.closeAllConnections()
      await new Promise((resolve) => server.http.close(resolve))
    })
    const send = (signal: AbortSignal, stream = false, headersTimeout?: number) =>
      upstreamRequest(pools, { origin: server.origin, path: '/', method: 'POST', body: '{}', signal, headersTimeout, bodyTimeout: stream ? 0 : headersTimeout }, stream)
    return { server, send }
  })
}

t.test('status, headers and body as they came; connections kept alive as undici keeps them; no listener left on the signal', async (t) => {
  const { server, send } = await setup(t, (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_1' })
      res.end('{"ok":"✓"}')
    })
  })
  const signal = new AbortController().signal
  for (let i = 0; i < 5; i++) {
    const answer = await send(signal)
    t.equal(answer.statusCode, 201)
    t.equal(answer.headers['x-request-id'], 'req_1')
    t.equal(await answer.body.text(), '{"ok":"✓"}', 'UTF-8 text, whole')
  }
  const ours = server.connections()
  t.equal(getEventListeners(signal, 'abort').length, 0, 'a signal used for many calls (an agent run) keeps no listener of them')
  // The same five exchanges through undici's own request(), on a pool of their own.
  const pools = new OriginPools({ keepAliveTimeout: 30_000 })
  t.teardown(() => pools.destroy())
  for (let i = 0; i < 5; i++) await (await pools.request({ origin: server.origin, path: '/', method: 'POST', body: '{}', signal })).body.text()
  t.ok(ours < 5, `five exchanges on ${ours} connections: kept alive`)
  t.equal(ours, server.connections() - ours, 'as many as undici’s request() opens')
})

t.test('an informational answer (103) is skipped: the caller gets the real one', async (t) => {
  const { send } = await setup(t, (req, res) => {
    req.resume()
    res.writeEarlyHints({ link: '</style.css>; rel=preload' })
    res.end('final')
  })
  const answer = await send(new AbortController().signal)
  t.equal(answer.statusCode, 200)
  t.equal(await answer.body.text(), 'final')
})

t.test('a signal already aborted sends nothing and rejects with its reason', async (t) => {
  let seen = 0
  const { send } = await setup(t, (req, res) => {
    seen++
    res.end()
  })
  const controller = new AbortController()
  const reason = Object.assign(new Error('The caller closed the connection'), { name: 'AbortError' })
  controller.abort(reason)
  await t.rejects(send(controller.signal), reason)
  t.equal(seen, 0, 'the upstream never saw the request')
})

t.test('aborted while the upstream thinks: rejected with the reason, and the upstream sees the connection close', async (t) => {
  const { server, send } = await setup(t, () => {}) // never answers
  const controller = new AbortController()
  const pending = send(controller.signal)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const closed = server.closed()
  const reason = Object.assign(new Error('gone'), { name: 'AbortError' })
  controller.abort(reason)
  await t.rejects(pending, reason)
  await closed
  t.equal(getEventListeners(controller.signal, 'abort').length, 0, 'no listener left')
})

t.test('aborted mid-body: the body fails with the reason and the upstream is hung up on', async (t) => {
  const { server, send } = await setup(t, (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: {"n":1}\n\n') // and never ends
  })
  const controller = new AbortController()
  const answer = await send(controller.signal, true)
  t.type(answer.body, UpstreamBody, 'a 2xx answer to a streamed request comes as a stream')
  const body = answer.body as UpstreamBody
  const chunks: string[] = []
  const closed = server.closed()
  const reading = (async () => {
    for await (const chunk of body) {
      chunks.push(String(chunk))
      controller.abort(Object.assign(new Error('total timeout'), { name: 'AbortError' }))
    }
  })()
  await t.rejects(reading, { message: 'total timeout' })
  t.same(chunks, ['data: {"n":1}\n\n'], 'what came before the abort was read')
  await closed
})

t.test('a body destroyed before its end closes the connection (the upstream stops generating)', async (t) => {
  const { server, send } = await setup(t, (req, res) => {
    req.resume()
    res.writeHead(200)
    res.write('partial')
  })
  const answer = await send(new AbortController().signal, true)
  const closed = server.closed()
  ;(answer.body as UpstreamBody).on('error', () => {}).destroy()
  await closed
  t.pass('the upstream saw the connection close')
})

t.test('a connection reset before the answer rejects (no answer, no hang)', async (t) => {
  const { send } = await setup(t, (req) => req.socket.destroy())
  await t.rejects(send(new AbortController().signal), { code: 'UND_ERR_SOCKET' })
})

for (const stream of [false, true]) {
  t.test(`a body that breaks before anyone reads it fails quietly; its reader, later, gets the error (${stream ? 'a stream' : 'read whole'})`, async (t) => {
    const { send } = await setup(t, (req, res) => {
      req.resume()
      res.writeHead(200, { 'content-length': '100' })
      res.write('partial')
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const signal = new AbortController().signal
    const answer = await send(signal, stream)
    t.type(answer.body, stream ? UpstreamBody : WholeBody)
    await new Promise((resolve) => setTimeout(resolve, 100)) // the connection broke meanwhile, nobody listening
    await t.rejects(answer.body.text(), 'reading it afterwards rejects (and the process did not crash on the way)')
    t.equal(getEventListeners(signal, 'abort').length, 0, 'a signal used for many calls keeps no listener of a broken one')
  })
}

t.test('an answer read whole, given up while its body comes: text() rejects with the reason, the upstream is hung up on', async (t) => {
  const { server, send } = await setup(t, (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
    res.write('{"id":') // and never ends
  })
  const controller = new AbortController()
  const answer = await send(controller.signal)
  t.type(answer.body, WholeBody, 'a JSON answer is read whole')
  const text = answer.body.text()
  const closed = server.closed()
  controller.abort(Object.assign(new Error('total timeout'), { name: 'AbortError' }))
  await t.rejects(text, { message: 'total timeout' })
  const waited = await Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 2000, 'still open'))])
  t.equal(waited, 'closed', 'the upstream saw its connection close (it stops generating)')
})

t.test('an error answer to a streamed request is read whole; its connection is kept alive', async (t) => {
  const { server, send } = await setup(t, (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
      res.end('{"error":{"message":"slow down"}}')
    })
  })
  const signal = new AbortController().signal
  for (let i = 0; i < 5; i++) {
    const answer = await send(signal, true)
    t.equal(answer.statusCode, 429)
    t.type(answer.body, WholeBody)
    t.equal(await answer.body.text(), '{"error":{"message":"slow down"}}')
  }
  // undici's own request() opens two for such a run as well (the first test).
  t.ok(server.connections() <= 2, `five exchanges on ${server.connections()} connections: kept alive`)
  t.equal(getEventListeners(signal, 'abort').length, 0, 'no listener left')
})

t.test('an error answer to a streamed request whose body stalls fails after the first-byte timeout, not the total one', async (t) => {
  const { server, send } = await setup(t, (req, res) => {
    req.resume()
    res.writeHead(500, { 'content-type': 'application/json', 'content-length': '1000' })
    res.write('{"error":') // and never ends
  })
  const signal = new AbortController().signal
  // As HttpUpstream sends a streamed request: the first-byte timeout, no body timeout.
  const answer = await send(signal, true, 150)
  t.equal(answer.statusCode, 500)
  const closed = server.closed()
  const outcome = await Promise.race([answer.body.text().catch((error: { code?: string }) => error.code), new Promise((resolve) => setTimeout(resolve, 3000, 'still waiting'))])
  t.equal(outcome, 'UND_ERR_BODY_TIMEOUT', 'the body read whole fails as undici fails a body that stops coming')
  await closed
  t.equal(getEventListeners(signal, 'abort').length, 0, 'no listener left')
})

t.test('a UTF-8 byte order mark is not part of the text (as undici reads it)', async (t) => {
  const { send } = await setup(t, (req, res) => {
    req.resume()
    res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"error":{"message":"x"}}')]))
  })
  t.equal(await (await send(new AbortController().signal)).body.text(), '{"error":{"message":"x"}}')
})
