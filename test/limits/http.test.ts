// Rate limits and budgets over HTTP, one gateway (limits in memory), named keys from a keys file,
// each ingress API through its real client, JSON and streamed: admitted answers carry OpenAI's
// x-ratelimit-* headers (Anthropic's anthropic-ratelimit-* on /v1/messages, RFC 3339 resets); a key
// past its requests or tokens per minute gets a 429 with retry-after in the API's error shape, and
// the upstream never sees the call; a spent budget (key or team) is a 429 insufficient_quota
// saying when it resets, not retried by the SDKs; a stream the caller cancels counts the tokens it
// used until then; unnamed keys are not limited.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashOf } from '../../src/keys/hash.ts'
import { startGateway } from '../support/gateway.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { ask, awayFromMinuteEdge, INGRESSES, MODELS, STREAMING, type Answer, type Ingress } from './helpers.ts'

t.setTimeout(240_000)

const secret = (name: string) => `sk-gw-limits-${name}-5d0e7b3a9c1f`
const UNNAMED = 'gw-limits-unnamed-2f8a6c4e0b1d'
const entry = (id: string, fields: Record<string, unknown>) => ({ id: `key_${id}`, name: id, hash: hashOf(secret(id)), ...fields })

const keys = [
  // Per ingress: two requests a minute (one JSON, one streamed), then refused.
  ...INGRESSES.map((ingress) => entry(`rpm_${ingress}`, { limits: { requestsPerMinute: 2, tokensPerMinute: 100_000 } })),
  entry('tpm', { limits: { tokensPerMinute: 30 } }),
  entry('cancelled', { limits: { tokensPerMinute: 1000 } }),
  entry('per_model', { limits: { requestsPerMinute: 100, models: { 'gpt-4o-mini': { requestsPerMinute: 1 } } } }),
  entry('budget', { budgets: { dailyUsd: 0.00003 } }),
  entry('budget_messages', { budgets: { monthlyUsd: 0.0001 } }),
  entry('blue_one', { team: 'blue' }),
  entry('blue_two', { team: 'blue', limits: { requestsPerMinute: 100 } }),
]

const dir = mkdtempSync(join(tmpdir(), 'gateway-limits-http-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(keysFile, JSON.stringify({ keys, teams: { blue: { budgets: { dailyUsd: 0.00001 } } } }))
const upstream = await startUpstream()
const gateway = await startGateway({ timeoutMs: 60_000, env: { GATEWAY_KEYS_FILE: keysFile, GATEWAY_API_KEYS: UNNAMED, ...providerEnv(upstream) } })
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})

const call = (ingress: Ingress, key: string, stream = false, model?: string) => ask(gateway.url, ingress, { key: secret(key), stream, model, upstream })
const header = (answer: Answer, name: string) => answer.headers.get(name)
const nextMinute = () => Math.ceil(Date.now() / 60_000) * 60_000

/** The rate-limit headers of the API's shape: name → value. */
function rateHeaders(answer: Answer, ingress: Ingress, kind: 'requests' | 'tokens') {
  return ingress === 'messages'
    ? { limit: header(answer, `anthropic-ratelimit-${kind}-limit`), remaining: header(answer, `anthropic-ratelimit-${kind}-remaining`), reset: header(answer, `anthropic-ratelimit-${kind}-reset`) }
    : { limit: header(answer, `x-ratelimit-limit-${kind}`), remaining: header(answer, `x-ratelimit-remaining-${kind}`), reset: header(answer, `x-ratelimit-reset-${kind}`) }
}

/** A reset as each API writes it: OpenAI a wait (`12.5s`, `250ms`) within the minute, Anthropic the minute's end. */
function checkReset(t: Test, ingress: Ingress, reset: string | null) {
  if (ingress === 'messages') {
    t.equal(reset, new Date(nextMinute()).toISOString().replace('.000Z', 'Z'), 'reset: the end of the minute, RFC 3339')
  } else {
    const match = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(reset ?? '')
    const ms = match ? Number(match[1]) * (match[2] === 's' ? 1000 : 1) : NaN
    t.ok(ms > 0 && ms <= 60_000, `reset: a wait within the minute (${reset})`)
  }
}
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

for (const ingress of INGRESSES) {
  t.test(`${ingress}: headers on every answer; the third request of a 2 rpm key is a 429 in the API's shape`, async (t) => {
    await awayFromMinuteEdge()
    const key = `rpm_${ingress}`
    const first = await call(ingress, key)
    t.equal(first.status, 200)
    t.strictSame({ ...rateHeaders(first, ingress, 'requests'), reset: undefined }, { limit: '2', remaining: '1', reset: undefined }, 'requests: limit and remaining')
    checkReset(t, ingress, rateHeaders(first, ingress, 'requests').reset)
    t.match(rateHeaders(first, ingress, 'tokens'), { limit: '100000', remaining: '100000' }, 'tokens: nothing used yet')
    const second = await call(ingress, key, STREAMING.includes(ingress))
    t.equal(second.status, 200, STREAMING.includes(ingress) ? 'streamed' : 'JSON again')
    t.match(rateHeaders(second, ingress, 'requests'), { limit: '2', remaining: '0' }, 'the headers reach a streamed answer too')
    const tokens = Number(rateHeaders(second, ingress, 'tokens').remaining)
    t.ok(tokens < 100_000, `the first call's tokens are counted (${tokens} remaining)`)

    const before = upstream.requests.length
    for (const stream of STREAMING.includes(ingress) ? [false, true] : [false]) {
      const third = await call(ingress, key, stream)
      t.equal(third.status, 429, `${stream ? 'streamed' : 'JSON'}: refused`)
      t.match(rateHeaders(third, ingress, 'requests'), { limit: '2', remaining: '0' }, 'the refusal says why in its headers')
      const retryAfter = Number(header(third, 'retry-after'))
      t.ok(retryAfter >= 1 && retryAfter <= 60, `retry-after: seconds until the minute ends (${retryAfter})`)
      if (ingress === 'messages') {
        t.ok(third.anthropicShape, "Anthropic's error shape")
        t.equal(third.error?.type, 'rate_limit_error')
      } else {
        t.notOk(third.anthropicShape)
        t.match(third.error, { type: 'rate_limit_error', code: 'rate_limit_exceeded' })
      }
      t.match(third.error?.message, /requests per minute.*Limit 2, Used 2/, 'the message names the limit')
    }
    t.equal(upstream.requests.length, before, 'no refused call reached the upstream')
    t.equal(upstream.reset(), undefined)
  })
}

t.test('tokens per minute: counted when a call settles, then the key is refused for the rest of the minute', async (t) => {
  await awayFromMinuteEdge()
  const first = await call('chat', 'tpm')
  t.equal(first.status, 200)
  t.match(rateHeaders(first, 'chat', 'tokens'), { limit: '30', remaining: '30' })
  t.equal(rateHeaders(first, 'chat', 'requests').limit, null, 'no requests limit: no requests headers')
  const second = await call('chat', 'tpm')
  t.equal(second.status, 429, 'the 34 tokens of the first call used up the 30')
  t.match(rateHeaders(second, 'chat', 'tokens'), { limit: '30', remaining: '0' })
  t.match(second.error?.message, /tokens per minute.*Limit 30, Used 34/)
  upstream.reset()
})

t.test('a stream the caller cancels counts the tokens it used until then', async (t) => {
  await awayFromMinuteEdge()
  // Anthropic's first events (25 input tokens known from message_start), then nothing more.
  const events = [
    { type: 'message_start', message: { id: 'msg_cancelled', type: 'message', role: 'assistant', model: MODELS.messages, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
  ]
  const body = events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('')
  upstream.enqueueFor('POST /v1/messages', { status: 200, headers: { 'content-type': 'text/event-stream' }, body, stallAfterBytes: Buffer.byteLength(body) })
  const caller = new AbortController()
  const response = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': secret('cancelled') },
    body: JSON.stringify({ model: MODELS.messages, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    signal: caller.signal,
  })
  t.equal(response.headers.get('anthropic-ratelimit-tokens-remaining'), '1000')
  const reader = response.body!.getReader()
  let seen = ''
  while (!seen.includes('Hello')) seen += new TextDecoder().decode((await reader.read()).value)
  caller.abort()
  await upstream.waitForAbort(upstream.requests.length - 1)
  let remaining = 1000
  for (let i = 0; i < 50 && remaining === 1000; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const next = await call('embeddings', 'cancelled')
    remaining = Number(next.headers.get('x-ratelimit-remaining-tokens'))
  }
  t.ok(remaining <= 1000 - 26, `the cancelled stream's tokens were counted (${1000 - remaining} used: 25 input, 1 output so far)`)
  upstream.reset()
})

t.test("per key and model: the model's own limit, the key's others untouched", async (t) => {
  await awayFromMinuteEdge()
  t.equal((await call('chat', 'per_model')).status, 200)
  const again = await call('chat', 'per_model')
  t.equal(again.status, 429)
  t.match(again.error?.message, /on model "gpt-4o-mini"/)
  t.match(rateHeaders(again, 'chat', 'requests'), { limit: '1', remaining: '0' }, 'the tightest limit is the one shown')
  const other = await call('chat', 'per_model', false, 'gpt-4.1-nano')
  t.equal(other.status, 200, 'another model is served')
  t.match(rateHeaders(other, 'chat', 'requests'), { limit: '100', remaining: '98' }, "the key's limit counts every model (the refused request not)")
  upstream.reset()
})

t.test('a spent daily budget: 429 insufficient_quota saying when it resets; the calls that started with budget left were served', async (t) => {
  const costs: number[] = []
  let refusal: Answer | undefined
  for (let i = 0; i < 10 && !refusal; i++) {
    const answer = await call('chat', 'budget')
    if (answer.status === 200) costs.push(answer.costUsd!)
    else refusal = answer
  }
  const spent = costs.reduce((a, b) => a + b, 0)
  t.ok(costs.length >= 2 && costs.every((c) => c > 0), `priced calls served: ${costs.join(', ')}`)
  t.ok(spent >= 0.00003 && spent - costs.at(-1)! < 0.00003, `the last call served started with budget left; spent $${spent}`)
  t.equal(refusal?.status, 429)
  t.match(refusal?.error, { type: 'insufficient_quota', code: 'insufficient_quota' })
  const midnight = new Date(Math.ceil((Date.now() + 1) / 86_400_000) * 86_400_000).toISOString()
  t.match(refusal?.error?.message, `daily budget of the key "budget" ($0.00003) is spent`)
  t.match(refusal?.error?.message, `it resets at ${midnight}`, 'says when: the next UTC midnight')
  t.equal(refusal?.headers.get('x-should-retry'), 'false', 'the SDKs do not retry it')
  const streamed = await call('chat', 'budget', true)
  t.equal(streamed.status, 429, 'a streamed call is refused the same')
  upstream.reset()
})

t.test("a spent monthly budget on /v1/messages: Anthropic's shape; the team budget binds every key of the team", async (t) => {
  t.equal((await call('messages', 'budget_messages')).status, 200)
  const refused = await call('messages', 'budget_messages', true)
  t.equal(refused.status, 429)
  t.ok(refused.anthropicShape)
  t.equal(refused.error?.type, 'rate_limit_error')
  const firstOfMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1)).toISOString()
  t.match(refused.error?.message, `monthly budget of the key "budget_messages" ($0.0001) is spent`)
  t.match(refused.error?.message, `it resets at ${firstOfMonth}`)

  t.equal((await call('chat', 'blue_one')).status, 200, "one key of team blue spends the team's budget")
  const other = await call('chat', 'blue_two')
  t.equal(other.status, 429, 'another key of the team is refused')
  t.match(other.error, { code: 'insufficient_quota' })
  t.match(other.error?.message, 'daily budget of the team of key "blue_two" ($0.00001) is spent')
  t.equal(rateHeaders(other, 'chat', 'requests').remaining, '100', 'a refused request is not counted')
  upstream.reset()
})

t.test('an unnamed key (GATEWAY_API_KEYS) is not limited: no rate-limit headers', async (t) => {
  const answer = await ask(gateway.url, 'chat', { key: UNNAMED, upstream })
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('x-ratelimit-limit-requests'), null)
  upstream.reset()
})

t.test('count_tokens is not limited (it costs nothing; Anthropic limits it apart)', async (t) => {
  const response = await fetch(`${gateway.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': secret('rpm_messages') },
    body: JSON.stringify({ model: MODELS.messages, messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.not(response.status, 429, `rpm_messages is spent for this minute, yet count_tokens answers (${response.status})`)
  t.equal(response.headers.get('anthropic-ratelimit-requests-limit'), null)
})
