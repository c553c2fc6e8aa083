// SPEC §1/§3 security: gateway keys and the loopback-only rule without them. Bad configuration
// stopping the start is test/config/start-up.test.ts.
import t from 'tap'
import { isLoopback } from '../../src/config.ts'
import { startGateway } from '../support/gateway.ts'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(600_000)

const [keyed, open, wideOpen, lookalike] = await Promise.all([
  // HOST is given so the test never listens beyond loopback (with keys the default is 0.0.0.0).
  startGateway({ timeoutMs: 300_000, env: { GATEWAY_API_KEYS: 'k1-secret, k2-secret', HOST: '127.0.0.1' } }),
  startGateway({ timeoutMs: 300_000 }),
  startGateway({ timeoutMs: 300_000, env: { HOST: '0.0.0.0' } }),
  // A host name that merely starts like a loopback address (it could resolve anywhere).
  startGateway({ timeoutMs: 300_000, env: { HOST: '127.example.com' } }),
])
t.teardown(() => Promise.all([keyed.stop(), open.stop(), wideOpen.stop(), lookalike.stop()]))

/** A 401 is answered before any span exists: OpenAI's error shape, and no trace ids to follow. */
async function expectUnauthorized(t: Test, response: Response, code: string): Promise<string> {
  const text = await response.text()
  t.equal(response.status, 401, `401 (got ${response.status}: ${text.slice(0, 200)})`)
  const body = JSON.parse(text) as { error: { type: string; code: string; message: string }; trace_context: unknown }
  t.equal(body.error.type, 'invalid_request_error')
  t.equal(body.error.code, code)
  t.equal(body.trace_context, null, 'no trace_context: the caller is not traced')
  t.equal(response.headers.get('x-trace-id'), null, 'no x-trace-id header')
  t.equal(response.headers.get('traceresponse'), null, 'no traceresponse header')
  return body.error.message
}

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const chatBody = JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] })
function chat(url: string, authorization?: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: chatBody,
  })
}

t.test('GATEWAY_API_KEYS set: no Authorization header is a 401 missing_api_key', async (t) => {
  const message = await expectUnauthorized(t, await chat(keyed.url), 'missing_api_key')
  t.match(message, /Authorization: Bearer/)
  t.notMatch(message, /k1-secret|k2-secret/, 'the keys are not revealed')
})

t.test('a wrong key is a 401 invalid_api_key', async (t) => {
  for (const header of ['Bearer k3-secret', 'Bearer k1-secre', 'Bearer k1-secret-and-more', 'Basic azEtc2VjcmV0', 'k1-secret']) {
    const response = await chat(keyed.url, header)
    t.equal(response.status, 401, `${header} is refused`)
    await response.arrayBuffer()
  }
  const message = await expectUnauthorized(t, await chat(keyed.url, 'Bearer nope'), 'invalid_api_key')
  t.notMatch(message, /k1-secret|k2-secret/)
})

t.test('the scheme is case-insensitive (RFC 9110): bearer, BEARER and Bearer all work', async (t) => {
  for (const header of ['bearer k1-secret', 'BEARER k2-secret', 'bEaReR  k1-secret', 'Bearer\tk2-secret']) {
    const response = await chat(keyed.url, header)
    t.equal(response.status, 200, `${JSON.stringify(header)} is accepted`)
    await response.arrayBuffer()
  }
  for (const header of ['bearerk1-secret', 'bearer', 'bearer ', 'Token k1-secret']) {
    const response = await chat(keyed.url, header)
    t.equal(response.status, 401, `${JSON.stringify(header)} is refused`)
    await response.arrayBuffer()
  }
})

t.test('either configured key works, with the OpenAI SDK too', async (t) => {
  for (const key of ['k1-secret', 'k2-secret']) {
    const response = await chat(keyed.url, `Bearer ${key}`)
    t.equal(response.status, 200, `${key} is accepted`)
    await response.arrayBuffer()
  }
  const completion = await keyed.client({ apiKey: 'k2-secret' }).chat.completions.create({
    model: 'demo-chat',
    messages: [{ role: 'user', content: 'hi' }],
  })
  t.match(completion.choices[0]?.message.content, /offline demo provider/)
})

t.test('the other API routes need the key too', async (t) => {
  await expectUnauthorized(t, await fetch(`${keyed.url}/v1/models`), 'missing_api_key')
  const withKey = await fetch(`${keyed.url}/v1/models`, { headers: { authorization: 'Bearer k1-secret' } })
  t.equal(withKey.status, 200)
  await withKey.arrayBuffer()
  const unknown = await fetch(`${keyed.url}/v1/nothing-here`)
  t.equal(unknown.status, 401, 'even an unknown route does not tell an anonymous caller what exists')
  await unknown.arrayBuffer()
})

t.test('/health and /ready need no key; /metrics needs one when keys are set', async (t) => {
  for (const path of ['/health', '/ready']) {
    const response = await fetch(`${keyed.url}${path}`)
    t.equal(response.status, 200, `${path} answers without a key`)
    await response.arrayBuffer()
  }
  // It names models, providers and volumes: an operator's business, scraped with a key.
  await expectUnauthorized(t, await fetch(`${keyed.url}/metrics`), 'missing_api_key')
  await expectUnauthorized(t, await fetch(`${keyed.url}/metrics`, { headers: { authorization: 'Bearer wrong' } }), 'invalid_api_key')
  const scraped = await fetch(`${keyed.url}/metrics`, { headers: { authorization: 'Bearer k2-secret' } })
  t.equal(scraped.status, 200, 'with a key, the scrape works')
  t.match(await scraped.text(), /# (HELP|TYPE) /, 'Prometheus text')
})

t.test('without keys (loopback only), /metrics needs none', async (t) => {
  const scraped = await fetch(`${open.url}/metrics`)
  t.equal(scraped.status, 200)
  t.match(await scraped.text(), /# (HELP|TYPE) /)
})

t.test('the keys never reach the logs', async (t) => {
  t.notMatch(keyed.lines.join('\n'), /k1-secret|k2-secret/)
})

t.test('without keys: open to all, and the start-up log says it is loopback only', async (t) => {
  const response = await chat(open.url)
  t.equal(response.status, 200, 'no key needed')
  await response.arrayBuffer()
  const listening = open.logs().find((l) => l.msg === 'listening')
  t.match(listening?.auth, /loopback only/)
  t.match(listening?.url, /^http:\/\/127\.0\.0\.1:\d+$/)
})

t.test('without keys, HOST=0.0.0.0 is refused: a warning, and it listens on 127.0.0.1', async (t) => {
  const warning = wideOpen.logs().find((l) => typeof l.msg === 'string' && l.msg.includes('HOST=0.0.0.0'))
  t.ok(warning, 'a log line names HOST=0.0.0.0')
  t.match(warning?.msg, /loopback/)
  t.match(warning?.msg, /GATEWAY_API_KEYS/)
  t.ok((warning?.level as number) >= 40, 'at warning level or above')
  const listening = wideOpen.logs().find((l) => l.msg === 'listening')
  t.match(listening?.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to 127.0.0.1')
  const response = await fetch(`${wideOpen.url}/health`)
  t.equal(response.status, 200, 'and reachable there')
  await response.arrayBuffer()
})

t.test('HOST=127.example.com is a name, not a loopback address: refused without keys', async (t) => {
  const warning = lookalike.logs().find((l) => typeof l.msg === 'string' && l.msg.includes('HOST=127.example.com'))
  t.ok(warning, 'a log line names HOST=127.example.com')
  t.match(lookalike.logs().find((l) => l.msg === 'listening')?.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to 127.0.0.1')
})

t.test('isLoopback: loopback addresses and localhost only', async (t) => {
  for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
    t.ok(isLoopback(host), `${host} is loopback`)
  }
  for (const host of ['127.example.com', '127.0.0.1.nip.io', '127.0.0', '127.0.0.256', '0.0.0.0', '::', '10.0.0.1', 'localhost.example.com', '::ffff:10.0.0.1', '']) {
    t.notOk(isLoopback(host), `${JSON.stringify(host)} is not`)
  }
})
