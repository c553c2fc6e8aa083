// Issue 13, the response cache: what is a hit and what is kept. Exact match (another message,
// temperature, tools, response_format or model is a miss; the order of the body's keys, `user`,
// `metadata` and `stream_options` are not part of the match); `cache-control: no-store` neither
// reads nor writes, `no-cache` answers fresh and replaces the entry; entries expire; a failed,
// cut-short or error answer is never kept, nor one over `maxEntryBytes`; the global cache covers
// plain models, a route group may opt out (`"cache": false`) or opt in on its own. Over HTTP, the
// emulator's log telling whether each call went upstream.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CustomReply } from '../support/upstream.ts'
import { cacheHeaders, post, startCachingGateway, type Json } from './helpers.ts'

t.setTimeout(180_000)

const MAX_ENTRY_BYTES = 20_000
const target = { provider: 'openai', model: 'gpt-4o-mini' }
const { gateway, upstream } = await startCachingGateway(t, {
  cache: { ttlSeconds: 600, maxEntryBytes: MAX_ENTRY_BYTES },
  routes: {
    'short-lived': { targets: [target], cache: { ttlSeconds: 1 } },
    uncached: { targets: [target], cache: false },
    balanced: { strategy: 'loadbalance', targets: [target, { provider: 'openai', model: 'gpt-4o' }] },
  },
})
t.beforeEach(() => upstream.reset())

const CHAT = '/v1/chat/completions'
const base = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Name a colour' }], temperature: 0 }

/** A chat completion saying `text`. */
function completion(text: string): CustomReply {
  return {
    status: 200,
    json: {
      id: `chatcmpl-${text.length}-${text.slice(0, 8)}`,
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    },
  }
}

/** A chat stream saying `pieces`; without `finish` it ends cleanly but never says how it finished. */
function chatStream(pieces: string[], finish = true): CustomReply {
  const chunk = (delta: Json, finishReason: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`
  const usage = `data: ${JSON.stringify({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 5, completion_tokens: pieces.length, total_tokens: 5 + pieces.length } })}\n\n`
  const body = [chunk({ role: 'assistant', content: '' }), ...pieces.map((p) => chunk({ content: p })), ...(finish ? [chunk({}, 'stop'), usage, 'data: [DONE]\n\n'] : [])].join('')
  return { status: 200, headers: { 'content-type': 'text/event-stream' }, body }
}

const textOf = (answer: { json?: Json | undefined; events: Array<{ data: Json }> }) =>
  answer.json
    ? ((answer.json.choices as Array<{ message: { content: string } }>)[0]!.message.content)
    : answer.events.map((e) => (e.data.choices as Array<{ delta?: { content?: string } }> | undefined)?.[0]?.delta?.content ?? '').join('')

t.test('exact match: what shapes the answer makes a miss; key order, user, metadata and stream_options do not', async (t) => {
  upstream.setDefault(completion('blue'))
  const first = await post(gateway.url, CHAT, base)
  t.equal(cacheHeaders(first).cache, 'miss')
  const tools = [{ type: 'function', function: { name: 'paint', parameters: { type: 'object', properties: {} } } }]
  const misses: Array<[string, Json]> = [
    ['another message', { ...base, messages: [{ role: 'user', content: 'Name a color' }] }],
    ['another temperature', { ...base, temperature: 0.5 }],
    ['tools', { ...base, tools }],
    ['a response_format', { ...base, response_format: { type: 'json_object' } }],
    ['another model', { ...base, model: 'gpt-4o' }],
    ['a seed', { ...base, seed: 1 }],
    ['a token limit', { ...base, max_completion_tokens: 5 }],
  ]
  for (const [what, body] of misses) {
    const before = upstream.requests.length
    const answer = await post(gateway.url, CHAT, body)
    t.equal(answer.status, 200)
    t.equal(cacheHeaders(answer).cache, 'miss', `${what}: a miss`)
    t.equal(upstream.requests.length, before + 1, `${what}: answered upstream`)
  }
  const calls = upstream.requests.length
  const reordered = { temperature: 0, messages: [{ content: 'Name a colour', role: 'user' }], model: 'gpt-4o-mini' }
  const labelled = { ...base, user: 'alice', metadata: { team: 'search' }, safety_identifier: 'h-1' }
  for (const [what, body] of [
    ['the same body, keys in another order', reordered],
    ['the same with user, metadata and safety_identifier', labelled],
  ] as const) {
    const answer = await post(gateway.url, CHAT, body)
    t.equal(cacheHeaders(answer).cache, 'hit', `${what}: a hit`)
    t.equal(textOf(answer), 'blue')
  }
  t.equal(upstream.requests.length, calls, 'none of them went upstream')

  // Streams are kept apart from JSON answers; stream_options does not split them.
  upstream.setDefault(chatStream(['gre', 'en']))
  const streamed = await post(gateway.url, CHAT, { ...base, stream: true, stream_options: { include_usage: true } })
  t.equal(cacheHeaders(streamed).cache, 'miss', 'the same request streamed is a miss: a stream is kept as a stream')
  t.ok(streamed.events.some((e) => (e.data.choices as unknown[]).length === 0 && e.data.usage), 'the usage chunk asked for')
  const plain = await post(gateway.url, CHAT, { ...base, stream: true })
  t.equal(cacheHeaders(plain).cache, 'hit', 'without stream_options: a hit')
  t.equal(textOf(plain), 'green')
  t.notOk(plain.events.some((e) => e.data.usage), 'and, as this caller asked, no usage chunk')
  t.equal(upstream.requests.length, calls + 1)
})

t.test('cache-control: no-store neither reads nor writes; no-cache answers fresh and replaces the entry', async (t) => {
  const body = { ...base, messages: [{ role: 'user', content: 'cache-control' }] }
  upstream.enqueue(completion('first'), completion('second'), completion('third'), completion('fourth'))
  const noStore = await post(gateway.url, CHAT, body, { 'cache-control': 'no-store' })
  t.equal(cacheHeaders(noStore).cache, 'bypass', 'no-store: bypass')
  t.equal(textOf(noStore), 'first')
  const after = await post(gateway.url, CHAT, body)
  t.equal(cacheHeaders(after).cache, 'miss', 'no-store kept nothing: the next call is a miss')
  t.equal(textOf(after), 'second')
  const again = await post(gateway.url, CHAT, body, { 'cache-control': 'no-store' })
  t.equal(textOf(again), 'third', 'no-store does not read the entry either: a fresh answer')
  t.equal(textOf(await post(gateway.url, CHAT, body)), 'second', 'and did not replace it')

  const fresh = await post(gateway.url, CHAT, body, { 'cache-control': 'max-age=0, No-Cache' })
  t.equal(cacheHeaders(fresh).cache, 'bypass', 'no-cache (any case, among other directives): bypass')
  t.equal(textOf(fresh), 'fourth', 'answered fresh')
  const replaced = await post(gateway.url, CHAT, body)
  t.equal(cacheHeaders(replaced).cache, 'hit')
  t.equal(textOf(replaced), 'fourth', 'the fresh answer replaced the entry')
  t.equal(upstream.requests.length, 4)
})

t.test('an entry expires after its TTL', async (t) => {
  upstream.enqueue(completion('old'), completion('new'))
  const body = { ...base, model: 'short-lived' }
  t.equal(cacheHeaders(await post(gateway.url, CHAT, body)).cache, 'miss')
  const hit = await post(gateway.url, CHAT, body)
  t.equal(cacheHeaders(hit).cache, 'hit', 'a hit within the group’s 1 s TTL')
  t.equal(hit.headers.get('age'), '0')
  await sleep(1100)
  const expired = await post(gateway.url, CHAT, body)
  t.equal(cacheHeaders(expired).cache, 'miss', 'a miss once it has expired')
  t.equal(textOf(expired), 'new')
  t.equal(upstream.requests.length, 2)
})

t.test('failed, cut-short and error answers are never kept', async (t) => {
  const cases: Array<[string, CustomReply | { fixture: string; resetAfterBytes?: number }, boolean]> = [
    ['an upstream 500', { status: 500, json: { error: { message: 'boom', type: 'server_error' } } }, false],
    ['a 429', { status: 429, headers: { 'retry-after': '0' }, json: { error: { message: 'slow down', type: 'rate_limit' } } }, false],
    ['a 400', { fixture: 'openai-chat-error-400-invalid-image-url' }, false],
    ['a stream cut by a reset', { fixture: 'openai-chat-text-stream-include-usage', resetAfterBytes: 400 }, true],
    ['a stream that ends without saying how it finished', chatStream(['half', ' an'], false), true],
    ['a JSON answer cut by a reset', { ...completion('cut'), resetAfterBytes: 50 }, false],
  ]
  for (const [i, [what, reply, stream]] of cases.entries()) {
    upstream.reset()
    upstream.enqueue(reply, stream ? chatStream(['whole']) : completion('whole'))
    const body = { ...base, messages: [{ role: 'user', content: `failure ${i}` }], stream }
    const failed = await post(gateway.url, CHAT, body)
    const visible = stream ? failed.events.at(-1)?.data : failed.json
    t.comment(`${what}: ${failed.status} ${JSON.stringify(visible).slice(0, 120)}`)
    const retried = await post(gateway.url, CHAT, body)
    t.equal(cacheHeaders(retried).cache, 'miss', `${what}: the repeat is a miss`)
    t.equal(upstream.requests.length, 2, `${what}: and went upstream`)
    t.equal(textOf(retried), 'whole', `${what}: the complete answer`)
    t.equal(cacheHeaders(await post(gateway.url, CHAT, body)).cache, 'hit', `${what}: which is kept`)
  }
})

t.test('an answer over maxEntryBytes is passed on but not kept', async (t) => {
  const big = 'z'.repeat(MAX_ENTRY_BYTES)
  upstream.setDefault(completion(big))
  const body = { ...base, messages: [{ role: 'user', content: 'a long one' }] }
  const first = await post(gateway.url, CHAT, body)
  t.equal(textOf(first), big, 'the caller gets it whole')
  const second = await post(gateway.url, CHAT, body)
  t.equal(cacheHeaders(second).cache, 'miss', 'the repeat is a miss')
  t.equal(upstream.requests.length, 2)

  const pieces = Array.from({ length: 400 }, (_, i) => `piece ${i} `)
  upstream.setDefault(chatStream(pieces))
  const streamed = { ...body, stream: true }
  t.equal(textOf(await post(gateway.url, CHAT, streamed)), pieces.join(''), 'a long stream is passed on whole')
  t.equal(cacheHeaders(await post(gateway.url, CHAT, streamed)).cache, 'miss', 'and not kept either')
  t.equal(upstream.requests.length, 4)

  upstream.setDefault(completion('short'))
  const small = { ...body, messages: [{ role: 'user', content: 'a short one' }] }
  await post(gateway.url, CHAT, small)
  t.equal(cacheHeaders(await post(gateway.url, CHAT, small)).cache, 'hit', 'an answer under the bound is kept')
})

t.test('the global cache covers plain models; a route group with "cache": false is never cached', async (t) => {
  upstream.setDefault(completion('opted out'))
  const body = { ...base, model: 'uncached' }
  const first = await post(gateway.url, CHAT, body)
  const second = await post(gateway.url, CHAT, body)
  t.equal(first.status, 200)
  t.equal(cacheHeaders(second).cache, null, 'no x-gateway-cache: the cache does not apply')
  t.equal(second.headers.get('age'), null)
  t.equal(upstream.requests.length, 2, 'both went upstream')
  t.equal(cacheHeaders(second).target, 'openai/gpt-4o-mini')
})

t.test('without a global cache, only the groups that opt in are cached', async (t) => {
  const other = await startCachingGateway(t, { routes: { cached: { targets: [target], cache: { ttlSeconds: 60 } } } })
  other.upstream.setDefault(completion('grouped'))
  const plain = [await post(other.gateway.url, CHAT, base), await post(other.gateway.url, CHAT, base)]
  t.strictSame(plain.map((a) => cacheHeaders(a).cache), [null, null], 'a plain model is not cached')
  t.equal(other.upstream.requests.length, 2)
  const grouped = { ...base, model: 'cached' }
  const answers = [await post(other.gateway.url, CHAT, grouped), await post(other.gateway.url, CHAT, grouped)]
  t.strictSame(answers.map((a) => cacheHeaders(a).cache), ['miss', 'hit'], 'the group that opts in is')
  t.equal(other.upstream.requests.length, 3)
})

t.test('a Responses call in a conversation is never cached (its answer depends on state the provider keeps)', async (t) => {
  upstream.setDefault({ fixture: 'openai-responses-text-nonstream' })
  const body = { model: 'gpt-4o-mini', input: 'Next?', conversation: 'conv_123' }
  const answers = [await post(gateway.url, '/v1/responses', body), await post(gateway.url, '/v1/responses', body)]
  t.strictSame(answers.map((a) => a.status), [200, 200])
  t.strictSame(answers.map((a) => cacheHeaders(a).cache), ['bypass', 'bypass'])
  t.equal(upstream.requests.length, 2, 'both went upstream')
})

t.test('/v1/messages: the anthropic-beta and anthropic-version passed on to Anthropic are part of the match', async (t) => {
  upstream.setDefault({ fixture: 'anthropic-messages-text-nonstream' })
  const body = { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] }
  const version = { 'anthropic-version': '2023-06-01' }
  const plain = [await post(gateway.url, '/v1/messages', body, version), await post(gateway.url, '/v1/messages', body, version)]
  t.strictSame(plain.map((a) => cacheHeaders(a).cache), ['miss', 'hit'])
  const beta = await post(gateway.url, '/v1/messages', body, { ...version, 'anthropic-beta': 'context-1m-2025-08-07' })
  t.equal(cacheHeaders(beta).cache, 'miss', 'a beta may change the answer: a miss')
  t.equal(upstream.requests.at(-1)?.headers['anthropic-beta'], 'context-1m-2025-08-07', 'and the beta went on')
  t.equal(cacheHeaders(await post(gateway.url, '/v1/messages', body, { ...version, 'anthropic-beta': 'context-1m-2025-08-07' })).cache, 'hit')
  t.equal(upstream.requests.length, 2)
})

t.test('a loadbalance group shares one entry whichever target its pick starts with', async (t) => {
  upstream.setDefault(completion('balanced'))
  const body = { ...base, model: 'balanced' }
  const answers = []
  for (let i = 0; i < 8; i++) answers.push(await post(gateway.url, CHAT, body))
  t.strictSame(answers.map((a) => cacheHeaders(a).cache), ['miss', ...Array(7).fill('hit')], 'one miss, then hits')
  t.equal(new Set(answers.map((a) => cacheHeaders(a).target)).size, 1, 'each naming the target that served the original')
  t.equal(upstream.requests.length, 1)
})
