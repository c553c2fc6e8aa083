// OriginPools (src/providers/upstream-client.ts): undici's Agent without its per-close scan. What a
// user would notice if it broke: a new connection per request (keep-alive lost), requests to one
// upstream landing on another's pool, or a shutdown that never finishes.
import t from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OriginPools } from '../../src/providers/upstream-client.ts'

async function server(name: string): Promise<{ url: string; connections: () => number; close: () => Promise<void>; http: Server }> {
  let connections = 0
  const http = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.end(name))
  })
  http.on('connection', () => connections++)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise((resolve) => http.close(() => resolve())),
    http,
  }
}

t.test('one pool per origin, connections kept alive between requests', async (t) => {
  const [a, b] = await Promise.all([server('a'), server('b')])
  const pools = new OriginPools({ keepAliveTimeout: 30_000 })
  t.teardown(async () => {
    await pools.destroy()
    a.http.closeAllConnections()
    b.http.closeAllConnections()
    await Promise.all([a.close(), b.close()])
  })
  const get = async (origin: string) => (await (await pools.request({ origin, path: '/', method: 'GET' })).body.text())
  for (let i = 0; i < 5; i++) {
    t.equal(await get(a.url), 'a')
    t.equal(await get(b.url), 'b')
  }
  t.equal(a.connections(), 1, 'five requests in a row to one upstream share one connection')
  t.equal(b.connections(), 1, 'and the other upstream has its own')
})

t.test('close() waits for running requests and then refuses new ones; destroy() takes a callback', async (t) => {
  const a = await server('a')
  t.teardown(() => a.close())
  const pools = new OriginPools({})
  const running = pools.request({ origin: a.url, path: '/', method: 'GET' }).then((r) => r.body.text())
  await pools.close()
  t.equal(await running, 'a', 'the request under way finished')
  await t.rejects(pools.request({ origin: a.url, path: '/', method: 'GET' }), 'a closed dispatcher takes nothing new')
  const other = new OriginPools({})
  await other.request({ origin: a.url, path: '/', method: 'GET' }).then((r) => r.body.text())
  await new Promise<void>((resolve) => other.destroy(resolve))
  t.pass('destroy(callback) called back')
})
