// A JSON answer whose upstream sends its status and the first bytes of the body, then stops: the
// first-byte timeout covers the body's bytes too (src/providers/http-upstream.ts), and when it
// fires the caller gets what it is, a 504 timeout_error, not a 502 "the connection failed: Body
// Timeout Error" (undici's error was passed on as a connection failure).
import t from 'tap'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startGateway } from '../support/gateway.ts'

const open = new Set<ServerResponse>()
let requests = 0
const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    requests++
    open.add(res)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('{"id":"chatcmpl-1","object":"chat.completion","choices":[')
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as AddressInfo

const gateway = await startGateway({
  env: {
    OPENAI_API_KEY: 'sk-test-openai',
    OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
    UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '300',
    UPSTREAM_MAX_RETRIES: '0',
  },
})
t.teardown(async () => {
  await gateway.stop()
  for (const res of open) res.destroy()
  await new Promise((resolve) => server.close(resolve))
})

for (const [route, body] of [
  ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }],
  ['/v1/responses', { model: 'gpt-4o-mini', input: 'hi' }],
] as const) {
  t.test(`${route}: an answer that stops mid-body is a 504 timeout_error`, async (t) => {
    const before = requests
    const response = await fetch(`${gateway.url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    })
    const answer = (await response.json()) as { error: { type: string; code: string; message: string } }
    t.equal(response.status, 504)
    t.equal(answer.error.type, 'timeout_error')
    t.equal(answer.error.code, 'timeout')
    t.match(answer.error.message, /openai stopped sending its answer/)
    t.equal(requests - before, 1, 'one request (UPSTREAM_MAX_RETRIES=0)')
  })
}
