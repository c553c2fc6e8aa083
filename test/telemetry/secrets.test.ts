// SPEC §2.1 and §1 "Errors": no secret ever reaches a span, a log line or an answer. The gateway
// runs with distinctive keys and content capture on, goes through success, streams and every kind
// of upstream failure (some upstreams echo the key back), and then every exported span and metric,
// every log line and every response byte is searched for the keys.
import t from 'tap'
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

/** Each key whole, its distinctive middle (a truncated or masked leak), and the header values. */
const NEEDLES = [
  OPENAI_KEY, 'SECRET-openai-7f3a9c',
  ANTHROPIC_KEY, 'SECRET-anthropic-3c8e1f',
  GATEWAY_KEY, 'SECRET-alpha-9d2b7e',
  OTHER_GATEWAY_KEY, 'SECRET-beta-1f4e7a',
  PRESENTED_WRONG_KEY, 'WRONG-presented-5e8a1c',
  `Bearer ${GATEWAY_KEY}`, `Bearer ${OPENAI_KEY}`, `Bearer ${ANTHROPIC_KEY}`,
]

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
    ...providerEnv(upstream, { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY }),
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
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

t.test('no key in any span, metric, log line, response body or header', async (t) => {
  const answers: Array<{ exchange: Exchange; answer: RawAnswer }> = []
  for (const exchange of EXCHANGES) {
    if (exchange.reply) upstream.enqueue(exchange.reply)
    const answer = await postChat(gateway.url, exchange.body, exchange.headers)
    answers.push({ exchange, answer })
  }
  t.same(
    answers.map(({ exchange, answer }) => `${exchange.what}: ${answer.status}`),
    EXCHANGES.map((e) => `${e.what}: ${e.status}`),
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
    return [GATEWAY_KEY, OTHER_GATEWAY_KEY, PRESENTED_WRONG_KEY].some((k) => sent.includes(k))
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

  const haystacks: Array<[string, string]> = [
    ...receiver.spans.map((s): [string, string] => [`span ${s.name} (${s.traceId})`, bigintSafe(s)]),
    ...receiver.metricExports.map((m): [string, string] => [`metric ${m.name}`, bigintSafe(m)]),
    ...gateway.lines.map((line, i): [string, string] => [`log line ${i}`, line]),
    ...answers.flatMap(({ exchange, answer }): Array<[string, string]> => [
      [`${exchange.what}: body`, answer.text],
      [`${exchange.what}: headers`, bigintSafe([...answer.headers])],
    ]),
  ]
  t.ok(gateway.lines.length > EXCHANGES.length, 'there are log lines to search')
  const hits: string[] = []
  for (const [where, text] of haystacks) {
    for (const needle of NEEDLES) if (text.includes(needle)) hits.push(`${where} contains ${needle}`)
  }
  t.same(hits, [], 'no secret found anywhere')
})
