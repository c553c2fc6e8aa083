// Issue 13, "Redis is real": two gateway processes with one REDIS_URL share the response cache, so
// an answer one replica paid for is free on the other, JSON and streamed alike. The Redis is
// Debian's redis-server with a password (`requirepass`) given in the URL: it works, and neither it
// nor a wrong one ever shows in a log line, a span, a metric or an answer, even when Redis refuses
// the password (as test/telemetry/secrets.test.ts searches for the provider and gateway keys).
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway, type GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { CACHE_KEY_PATTERN, REDIS_MISSING, REDIS_SERVER, cachedGroupConfig, startRedis } from '../support/redis.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'

if (!REDIS_SERVER) {
  t.plan(0, REDIS_MISSING)
  process.exit(0)
}
// Three gateway processes on a loaded machine.
t.setTimeout(180_000)

// A space and a quote: the URL carries it percent-encoded, the gateway must decode it.
const PASSWORD = 'redis-SECRET-pass 7e3b9f1c"a5d2'
const WRONG_PASSWORD = 'redis-WRONG-pass-4c8a2e6f0b1d'
const NEEDLES = [PASSWORD, 'SECRET-pass', encodeURIComponent(PASSWORD), WRONG_PASSWORD, 'WRONG-pass']
const GROUP = 'shared-smart'
const MODEL = 'gpt-4o-mini'

const dir = mkdtempSync(join(tmpdir(), 'gateway-redis-shared-'))
const redis = await startRedis({ password: PASSWORD })
const upstream = await startUpstream()
const receiver = await startOtlpReceiver()
const env = (redisUrl: string) => ({
  LOG_LEVEL: 'debug',
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
  GATEWAY_CONFIG: cachedGroupConfig(dir, GROUP, MODEL),
  REDIS_URL: redisUrl,
  ...providerEnv(upstream),
})
const [a, b] = await Promise.all([startGateway({ timeoutMs: 45_000, env: env(redis.url) }), startGateway({ timeoutMs: 45_000, env: env(redis.url) })])
t.teardown(async () => {
  await Promise.all([a.stop(), b.stop()])
  await Promise.all([upstream.close(), redis.close(), receiver.close()])
  rmSync(dir, { recursive: true, force: true })
})

/** Every byte a user could see: the answers' headers and bodies, as the tests read them. */
const seen: string[] = []

/** Resolves once Redis holds `n` cache entries (a save is not waited for by the call that made it). */
async function entries(n: number): Promise<string[]> {
  const until = Date.now() + 10_000
  for (;;) {
    const keys = await redis.keys(CACHE_KEY_PATTERN)
    if (keys.length >= n || Date.now() > until) return keys
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function ask(gateway: GatewayProcess, content: string) {
  const { data, response } = await gateway.client().chat.completions.create({ model: GROUP, messages: [{ role: 'user', content }] }).withResponse()
  seen.push(JSON.stringify([...response.headers]), JSON.stringify(data))
  return { data, response, cache: response.headers.get('x-gateway-cache') }
}

async function askStreamed(gateway: GatewayProcess, content: string) {
  const { data: stream, response } = await gateway
    .client()
    .chat.completions.create({ model: GROUP, messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } })
    .withResponse()
  let text = ''
  let usage: { prompt_tokens: number; completion_tokens: number; cost_usd?: number } | undefined
  const finishes: string[] = []
  for await (const chunk of stream) {
    seen.push(JSON.stringify(chunk))
    text += chunk.choices[0]?.delta.content ?? ''
    if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason)
    if (chunk.usage) usage = chunk.usage as typeof usage
  }
  seen.push(JSON.stringify([...response.headers]))
  return { text, usage, finishes, cache: response.headers.get('x-gateway-cache'), response }
}

t.test('JSON: answered and cached by gateway A, a hit on gateway B', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const first = await ask(a, 'a joke, JSON')
  t.equal(first.response.status, 200)
  t.equal(first.cache, 'miss', 'A: a miss, answered by the upstream')
  t.equal(upstream.requests.length, 1)
  t.equal((await entries(1)).length, 1, 'the answer is kept in Redis, under the gateway\'s prefix')

  const second = await ask(b, 'a joke, JSON')
  t.equal(second.cache, 'hit', 'B: a hit')
  t.equal(upstream.requests.length, 1, 'B did not call the upstream')
  t.equal(second.response.headers.get('x-gateway-target'), `openai/${MODEL}`, 'the target that served the original')
  t.match(second.response.headers.get('age'), /^\d+$/, 'with its age')
  t.strictSame(second.data.choices, first.data.choices, 'the same answer')
  t.equal(second.data.model, first.data.model)
  t.equal(second.data.usage?.prompt_tokens, first.data.usage?.prompt_tokens, 'the same usage')
  t.equal(second.data.usage?.completion_tokens, first.data.usage?.completion_tokens)
  t.equal((second.data.usage as { cost_usd?: number } | undefined)?.cost_usd, 0, 'a hit costs nothing')

  const again = await ask(a, 'a joke, JSON')
  t.equal(again.cache, 'hit', 'and a hit on A too')
  t.equal(upstream.requests.length, 1)
})

t.test('streamed: answered and cached by gateway B, replayed as a stream by gateway A', async (t) => {
  upstream.reset()
  upstream.enqueue({ fixture: 'openai-chat-text-stream-include-usage' })
  const first = await askStreamed(b, 'a joke, streamed')
  t.equal(first.cache, 'miss', 'B: a miss, streamed from the upstream')
  t.ok(first.text.length > 0, 'with text')
  t.equal(upstream.requests.length, 1)
  t.equal((await entries(2)).length, 2, 'the stream is kept in Redis beside the JSON answer')

  const second = await askStreamed(a, 'a joke, streamed')
  t.equal(second.cache, 'hit', 'A: a hit')
  t.match(second.response.headers.get('content-type'), /^text\/event-stream/, 'replayed as a stream')
  t.equal(upstream.requests.length, 1, 'A did not call the upstream')
  t.equal(second.text, first.text, 'the same content')
  t.strictSame(second.finishes, first.finishes, 'the same finish')
  t.equal(second.usage?.prompt_tokens, first.usage?.prompt_tokens, 'the same usage')
  t.equal(second.usage?.completion_tokens, first.usage?.completion_tokens)
  t.equal(second.usage?.cost_usd, 0, 'a hit costs nothing')
})

t.test('a wrong password: every call still answered (misses), the refusal logged once, no password anywhere', async (t) => {
  const c = await startGateway({ timeoutMs: 45_000, env: env(redis.url.replace(encodeURIComponent(PASSWORD), WRONG_PASSWORD)) })
  t.teardown(() => c.stop())
  upstream.reset()
  upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
  for (let i = 0; i < 4; i++) {
    const answer = await ask(c, 'a joke, JSON')
    t.equal(answer.response.status, 200, `call ${i + 1} answered`)
    t.equal(answer.cache, 'miss', `call ${i + 1}: a miss (the same question is a hit on A and B)`)
  }
  t.equal(upstream.requests.length, 4, 'each answered by the upstream')
  const outages = c.logs().filter((line) => String(line.msg).startsWith('response cache: Redis is unreachable'))
  t.equal(outages.length, 1, 'the outage is logged once')
  t.match(JSON.stringify(outages[0]), /WRONGPASS/, 'saying why')
  t.equal(await c.stop(), 0, 'and the gateway stops cleanly')
  checkClean(t, 'C', c)
})

t.test('the password is in no log line, span, metric or answer', async (t) => {
  for (const [name, gateway] of [['A', a], ['B', b]] as const) checkClean(t, name, gateway)
  const answers = seen.join('\n')
  t.ok(answers.length > 1000, 'answers were read')
  for (const needle of NEEDLES) t.notOk(answers.includes(needle), `no answer contains ${needle}`)
  // The three hits' llm.request spans have arrived, and a metric export after them.
  await receiver.waitFor(() => receiver.spans.filter((s) => s.attributes['llm.cache.hit'] === true).length >= 3, 15_000)
  const exportsSoFar = receiver.metricExports.length
  await receiver.waitFor(() => receiver.metricExports.length > exportsSoFar, 15_000)
  const telemetry = JSON.stringify([receiver.spans, receiver.metricExports], (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value))
  t.ok(receiver.spans.length > 10, 'there are spans to search')
  for (const needle of NEEDLES) t.notOk(telemetry.includes(needle), `no span or metric contains ${needle}`)
})

function checkClean(t: Test, name: string, gateway: GatewayProcess): void {
  const output = gateway.lines.join('\n')
  t.ok(gateway.logs().some((line) => line.msg === 'listening'), `${name} logged`)
  for (const needle of NEEDLES) t.notOk(output.includes(needle), `${name}'s logs do not contain ${needle}`)
  t.notMatch(output, /Unhandled error event/, `${name}: ioredis never reported an unhandled 'error' event`)
}
