// SPEC §2.1 and §1 "Errors": no secret ever reaches a span, a log line or an answer. The gateway
// runs with distinctive keys and content capture on, goes through success, streams and every kind
// of upstream failure (some upstreams echo the key back), and then every exported span and metric,
// every log line and every response byte is searched for the keys. Issue 14: named keys (the keys
// file's, and one the admin API made with the master key) are called by, and the master key used;
// neither they, their hashes nor the master key are in any span, metric, log line, /metrics, the
// trace pages (/traces, the X-ray, /v1/traces) or the admin API's answers but the one creation.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashOf } from '../../src/keys/hash.ts'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { providerEnv, startUpstream, type Reply } from '../support/upstream.ts'
import { postChat, STARTUP_MS, WAIT_MS, type RawAnswer } from './helpers.ts'

const OPENAI_KEY = 'sk-test-SECRET-openai-7f3a9c1e5b2d4a6f8e0c'
const ANTHROPIC_KEY = 'sk-ant-test-SECRET-anthropic-3c8e1f9a7b5d2e4c6a0f'
const GATEWAY_KEY = 'gw-SECRET-alpha-9d2b7e4f1a6c3e8b5d0a'
const OTHER_GATEWAY_KEY = 'gw-SECRET-beta-1f4e7a2c9b6d3e0f8a5c'
/** Not a key the gateway holds, but what an unknown caller put in its Authorization header. */
const PRESENTED_WRONG_KEY = 'gw-WRONG-presented-5e8a1c3f7b9d2e4a6c0b'
/** Named keys of the keys file (the second sent as x-api-key, as the Anthropic SDKs send it). */
const NAMED_KEY = 'sk-gw-SECRET-named-4b7e1a9c3f5d2e8b6a0c'
const NAMED_KEY_XAPI = 'sk-gw-SECRET-xapi-8e2c5a1f7b3d9e4c6a0b'
const MASTER_KEY = 'gw-SECRET-master-2d6f9b3e7a1c5e8d4b0a'
/** The keys file holds `sha256:<hex>`: the hex is as secret to a reader of the telemetry as the key. */
const digest = (key: string) => hashOf(key).slice('sha256:'.length)

/** Each key whole, its distinctive middle (a truncated or masked leak), and the header values. */
const NEEDLES = [
  OPENAI_KEY, 'SECRET-openai-7f3a9c',
  ANTHROPIC_KEY, 'SECRET-anthropic-3c8e1f',
  GATEWAY_KEY, 'SECRET-alpha-9d2b7e',
  OTHER_GATEWAY_KEY, 'SECRET-beta-1f4e7a',
  PRESENTED_WRONG_KEY, 'WRONG-presented-5e8a1c',
  `Bearer ${GATEWAY_KEY}`, `Bearer ${OPENAI_KEY}`, `Bearer ${ANTHROPIC_KEY}`,
  NAMED_KEY, 'SECRET-named-4b7e1a', digest(NAMED_KEY), digest(NAMED_KEY).slice(0, 24),
  NAMED_KEY_XAPI, 'SECRET-xapi-8e2c5a', digest(NAMED_KEY_XAPI), digest(NAMED_KEY_XAPI).slice(0, 24),
  MASTER_KEY, 'SECRET-master-2d6f9b', digest(MASTER_KEY),
]

const keysDir = mkdtempSync(join(tmpdir(), 'gateway-secrets-'))
const keysFile = join(keysDir, 'keys.json')
writeFileSync(
  keysFile,
  JSON.stringify({
    keys: [
      { id: 'key_named', name: 'named-caller', team: 'secret-search', hash: hashOf(NAMED_KEY) },
      { id: 'key_xapi', name: 'xapi-caller', hash: hashOf(NAMED_KEY_XAPI) },
    ],
  }),
)

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const gateway = await startGateway({
  timeoutMs: STARTUP_MS,
  env: {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
    GATEWAY_API_KEYS: `${GATEWAY_KEY},${OTHER_GATEWAY_KEY}`,
    GATEWAY_KEYS_FILE: keysFile,
    GATEWAY_MASTER_KEY: MASTER_KEY,
    ...providerEnv(upstream, { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY }),
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
  rmSync(keysDir, { recursive: true, force: true })
})

const auth = (key: string) => ({ authorization: `Bearer ${key}` })
const ask = (content: string) => [{ role: 'user', content }]

interface Exchange {
  what: string
  reply?: Reply
  body: Record<string, unknown>
  headers: Record<string, string>
  status: number
}

const EXCHANGES: Exchange[] = [
  {
    what: 'OpenAI success',
    reply: { fixture: 'openai-chat-text-nonstream' },
    body: { model: 'gpt-3.5-turbo', messages: ask('a joke') },
    headers: auth(GATEWAY_KEY),
    status: 200,
  },
  {
    what: 'OpenAI stream',
    reply: { fixture: 'openai-chat-text-stream-include-usage' },
    body: { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: ask('10 + 5?') },
    headers: auth(GATEWAY_KEY),
    status: 200,
  },
  {
    what: 'OpenAI stream cut mid-body',
    reply: { fixture: 'openai-chat-text-stream-include-usage', resetAfterBytes: 700 },
    body: { model: 'gpt-4o-mini', stream: true, messages: ask('10 + 5?') },
    headers: auth(GATEWAY_KEY),
    status: 200,
  },
  {
    what: 'OpenAI 401 (recorded)',
    reply: { fixture: 'openai-chat-error-401-invalid-api-key' },
    body: { model: 'gpt-3.5-turbo', messages: ask('hi') },
    headers: auth(GATEWAY_KEY),
    status: 502,
  },
  {
    what: 'OpenAI 401 echoing the whole key',
    reply: {
      status: 401,
      json: { error: { message: `Incorrect API key provided: ${OPENAI_KEY}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
    },
    body: { model: 'gpt-3.5-turbo', messages: ask('hi') },
    headers: auth(GATEWAY_KEY),
    status: 502,
  },
  {
    what: 'OpenAI 500 echoing the key',
    reply: { status: 500, json: { error: { message: `upstream broke while using ${OPENAI_KEY}` } } },
    body: { model: 'gpt-3.5-turbo', messages: ask('hi') },
    headers: auth(GATEWAY_KEY),
    status: 502,
  },
  {
    what: 'OpenAI 500',
    reply: { status: 500, json: { error: { message: 'boom' } } },
    body: { model: 'gpt-3.5-turbo', messages: ask('hi') },
    headers: auth(GATEWAY_KEY),
    status: 502,
  },
  {
    what: 'Anthropic success',
    reply: { fixture: 'anthropic-messages-text-nonstream' },
    body: { model: 'claude-3-5-sonnet-20240620', messages: ask('hello') },
    headers: auth(GATEWAY_KEY),
    status: 200,
  },
  {
    what: 'Anthropic 401 echoing the key',
    reply: {
      status: 401,
      json: { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key: ${ANTHROPIC_KEY}` } },
    },
    body: { model: 'claude-3-5-sonnet-20240620', messages: ask('hello') },
    headers: auth(GATEWAY_KEY),
    status: 502,
  },
  {
    what: 'the second gateway key',
    body: { model: 'demo-chat', messages: ask('hello') },
    headers: auth(OTHER_GATEWAY_KEY),
    status: 200,
  },
  {
    what: 'a named key',
    reply: { fixture: 'openai-chat-text-nonstream' },
    body: { model: 'gpt-3.5-turbo', messages: ask('a named joke') },
    headers: auth(NAMED_KEY),
    status: 200,
  },
  {
    what: 'a named key, streamed',
    reply: { fixture: 'openai-chat-text-stream-include-usage' },
    body: { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: ask('10 + 6?') },
    headers: auth(NAMED_KEY),
    status: 200,
  },
  {
    what: 'a named key as x-api-key',
    body: { model: 'demo-chat', messages: ask('hello') },
    headers: { 'x-api-key': NAMED_KEY_XAPI },
    status: 200,
  },
  {
    what: 'a named key, upstream 401 echoing the provider key',
    reply: {
      status: 401,
      json: { error: { message: `Incorrect API key provided: ${OPENAI_KEY}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
    },
    body: { model: 'gpt-3.5-turbo', messages: ask('hi') },
    headers: auth(NAMED_KEY),
    status: 502,
  },
  {
    what: 'the master key on a model route',
    body: { model: 'demo-chat', messages: ask('hello') },
    headers: auth(MASTER_KEY),
    status: 403,
  },
  {
    what: 'an unknown gateway key',
    body: { model: 'demo-chat', messages: ask('hello') },
    headers: auth(PRESENTED_WRONG_KEY),
    status: 401,
  },
  {
    what: 'no gateway key',
    body: { model: 'demo-chat', messages: ask('hello') },
    headers: {},
    status: 401,
  },
]

function bigintSafe(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
}

/** GET `path` with `key`: the body as text, and the headers, for the search. */
async function read(path: string, key: string): Promise<{ status: number; text: string; headers: string }> {
  const response = await fetch(`${gateway.url}${path}`, { headers: auth(key) })
  return { status: response.status, text: await response.text(), headers: bigintSafe([...response.headers]) }
}

t.test('no key in any span, metric, log line, response body or header', async (t) => {
  // A key made by the admin API: its secret is in the creation's answer, shown that once.
  const created = await fetch(`${gateway.url}/admin/keys`, {
    method: 'POST',
    headers: { ...auth(MASTER_KEY), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'made-by-admin', team: 'secret-search' }),
  })
  t.equal(created.status, 201, 'the admin API made a key')
  const { id: createdId, secret: CREATED_KEY } = (await created.json()) as { id: string; secret: string }
  t.match(CREATED_KEY, /^sk-gw-/, 'its secret is in the answer, once')
  NEEDLES.push(CREATED_KEY, CREATED_KEY.slice(6, 30), digest(CREATED_KEY), digest(CREATED_KEY).slice(0, 24))
  const exchanges: Exchange[] = [
    ...EXCHANGES,
    {
      what: 'the key the admin API made',
      reply: { fixture: 'openai-chat-text-nonstream' },
      body: { model: 'gpt-3.5-turbo', messages: ask('made by admin') },
      headers: auth(CREATED_KEY),
      status: 200,
    },
  ]

  const answers: Array<{ exchange: Exchange; answer: RawAnswer }> = []
  for (const exchange of exchanges) {
    if (exchange.reply) upstream.enqueue(exchange.reply)
    const answer = await postChat(gateway.url, exchange.body, exchange.headers)
    answers.push({ exchange, answer })
  }
  t.same(
    answers.map(({ exchange, answer }) => `${exchange.what}: ${answer.status}`),
    exchanges.map((e) => `${e.what}: ${e.status}`),
    'each exchange answered as expected',
  )
  const echoed = answers.find(({ exchange }) => exchange.what === 'OpenAI 401 echoing the whole key')?.answer
  t.match((echoed?.json.error as { message?: string } | undefined)?.message, /Incorrect API key provided/, 'the upstream message is passed on, scrubbed')
  const cut = answers.find(({ exchange }) => exchange.what === 'OpenAI stream cut mid-body')?.answer
  t.ok(cut?.chunks.some((c) => c.error !== undefined), 'the cut stream ended with an error event')

  // The search means something only if the keys were really in use.
  const toOpenAI = upstream.requests.filter((r) => r.path.endsWith('/chat/completions'))
  const toAnthropic = upstream.requests.filter((r) => r.path.endsWith('/v1/messages'))
  t.ok(toOpenAI.length >= 6 && toAnthropic.length >= 2, 'both providers were called')
  t.ok(toOpenAI.every((r) => r.headers.authorization === `Bearer ${OPENAI_KEY}`), 'OpenAI received the OpenAI key')
  // The Anthropic SDK sends its key as x-api-key or, in recent versions, as a bearer token.
  t.ok(
    toAnthropic.every((r) => r.headers['x-api-key'] === ANTHROPIC_KEY || r.headers.authorization === `Bearer ${ANTHROPIC_KEY}`),
    'Anthropic received the Anthropic key',
  )
  const forwarded = upstream.requests.filter((r) => {
    const sent = bigintSafe(r.headers) + r.rawBody
    return [GATEWAY_KEY, OTHER_GATEWAY_KEY, PRESENTED_WRONG_KEY, NAMED_KEY, NAMED_KEY_XAPI, MASTER_KEY, CREATED_KEY].some((k) => sent.includes(k))
  })
  t.equal(forwarded.length, 0, 'the caller\'s gateway key is never forwarded upstream')

  // Every request's spans have arrived (the SERVER span ends last), and a metric export after them.
  // Callers without a valid key are not traced (their 401s are only counted).
  const traceIds = answers.filter(({ answer }) => answer.status !== 401).map(({ answer }) => answer.headers.get('x-trace-id') ?? '')
  t.ok(traceIds.every((id) => /^[0-9a-f]{32}$/.test(id)), 'every authenticated answer has a trace id')
  await receiver.waitFor(() => traceIds.every((id) => receiver.spans.some((s) => s.traceId === id && s.kind === 'SERVER')), WAIT_MS)
  const exportsSoFar = receiver.metricExports.length
  await receiver.waitFor(() => receiver.metricExports.length > exportsSoFar, WAIT_MS)
  t.ok(
    receiver.spans.some((s) => s.attributes['gen_ai.input.messages'] !== undefined),
    'content capture is on, so prompts are in the spans (and keys must still not be)',
  )

  // What a reader of the gateway sees besides telemetry: /metrics, the trace pages, the admin API.
  const pages: Array<[string, string]> = []
  const views = [
    ['/metrics', NAMED_KEY],
    ['/traces', NAMED_KEY],
    ['/traces?all=1', CREATED_KEY],
    ['/v1/traces?all=1', GATEWAY_KEY],
    ...traceIds.flatMap((id) => [[`/traces/${id}`, NAMED_KEY], [`/v1/traces/${id}`, NAMED_KEY_XAPI]]),
    ['/admin/keys', MASTER_KEY],
    [`/admin/keys/${createdId}`, MASTER_KEY],
    ['/admin/keys/key_named/spend', MASTER_KEY],
  ] as const
  for (const [path, key] of views) {
    const view = await read(path, key)
    t.equal(view.status, 200, `GET ${path}`)
    pages.push([`GET ${path}: body`, view.text], [`GET ${path}: headers`, view.headers])
  }
  t.match(pages.find(([where]) => where === 'GET /traces: body')?.[1], /named-caller/, 'the trace list names the named key')

  const haystacks: Array<[string, string]> = [
    ...pages,
    ...receiver.spans.map((s): [string, string] => [`span ${s.name} (${s.traceId})`, bigintSafe(s)]),
    ...receiver.metricExports.map((m): [string, string] => [`metric ${m.name}`, bigintSafe(m)]),
    ...gateway.lines.map((line, i): [string, string] => [`log line ${i}`, line]),
    ...answers.flatMap(({ exchange, answer }): Array<[string, string]> => [
      [`${exchange.what}: body`, answer.text],
      [`${exchange.what}: headers`, bigintSafe([...answer.headers])],
    ]),
  ]
  // LOG_LEVEL=debug: whatever the gateway logs at any level is searched.
  t.ok(gateway.lines.length > exchanges.length, 'there are log lines to search')
  const hits: string[] = []
  for (const [where, text] of haystacks) {
    for (const needle of NEEDLES) if (text.includes(needle)) hits.push(`${where} contains ${needle}`)
  }
  t.same(hits, [], 'no secret found anywhere')
})
