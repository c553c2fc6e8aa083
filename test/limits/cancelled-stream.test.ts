// A stream the caller hangs up on before its last event is still paid for. OpenAI's APIs (Chat
// Completions, Responses, every OpenAI-compatible server) say their usage only in that last event,
// so such a stream is charged an estimate: the request's text and the text streamed to the caller,
// four characters a token, priced like any call and marked llm.usage.estimated on its spans. A
// stream that completes, and an Anthropic stream (whose first event says the input tokens), are
// charged the upstream's own numbers, never the estimate.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { hashOf } from '../../src/keys/hash.ts'
import { loadFixture } from '../support/fixtures.ts'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { providerEnv, responseStreamEvents, startUpstream } from '../support/upstream.ts'

t.setTimeout(120_000)

const MASTER = 'master-key-cancelled-stream-7c1e9a'
const secret = (id: string) => `sk-gw-cancelled-${id}-3b8f0d2e6a`
const KEYS = ['chat_cut', 'responses_cut', 'messages_cut', 'completed']
const dir = mkdtempSync(join(tmpdir(), 'gateway-cancelled-stream-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(keysFile, JSON.stringify({ keys: KEYS.map((id) => ({ id: `key_${id}`, name: id, hash: hashOf(secret(id)), limits: { tokensPerMinute: 100_000 }, budgets: { dailyUsd: 10 } })) }))

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const gateway = await startGateway({
  timeoutMs: 60_000,
  env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, GATEWAY_KEYS_FILE: keysFile, GATEWAY_MASTER_KEY: MASTER, ...providerEnv(upstream) },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
  rmSync(dir, { recursive: true, force: true })
})

const admin = { authorization: `Bearer ${MASTER}` }
const estimate = (chars: number) => Math.ceil(chars / 4)

/** The key's daily spend as the admin API tells it, once it is more than nothing (the call settled). */
async function dailySpend(id: string): Promise<number> {
  let usd = 0
  for (let i = 0; i < 100 && usd === 0; i++) {
    const answer = (await (await fetch(`${gateway.url}/admin/keys/key_${id}/spend`, { headers: admin })).json()) as { spend: { key: { daily: { usd: number } } } }
    usd = answer.spend.key.daily.usd
    if (usd === 0) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return usd
}

/** The key's tokens as gateway_key_tokens_total counts them, once there are some (the call settled). */
async function keyTokens(name: string): Promise<{ input: number; output: number }> {
  for (let i = 0; ; i++) {
    const text = await scrapeMetrics(gateway.url, MASTER)
    const tokens = { input: metricSum(text, 'gateway_key_tokens_total', { key_name: name, type: 'input' }), output: metricSum(text, 'gateway_key_tokens_total', { key_name: name, type: 'output' }) }
    if (tokens.input + tokens.output > 0 || i === 100) return tokens
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The llm.request span of the key's call. */
async function requestSpan(id: string): Promise<ReceivedSpan> {
  const match = (s: ReceivedSpan) => s.name === 'llm.request' && s.attributes['gateway.key.id'] === `key_${id}`
  await receiver.waitFor(() => receiver.spans.some(match), 20_000)
  return receiver.spans.find(match)!
}

/** POSTs a streamed call, reads until `until` was seen, then hangs up. */
async function hangUpAfter(path: string, id: string, body: Record<string, unknown>, until: string): Promise<number> {
  const caller = new AbortController()
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    signal: caller.signal,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret(id)}` },
    body: JSON.stringify(body),
  })
  const reader = response.body!.getReader()
  let seen = ''
  while (!seen.includes(until)) {
    const { done, value } = await reader.read()
    if (done) throw new Error(`the stream ended before ${until}: ${seen}`)
    seen += new TextDecoder().decode(value)
  }
  caller.abort()
  await upstream.waitForAbort(upstream.requests.length - 1)
  return response.status
}

const PROMPT = 'write an essay '.repeat(100)
const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`
const base = { id: 'chatcmpl-cut', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' }

t.test('a chat stream cancelled after its answer, before the usage chunk, is charged an estimate', async (t) => {
  const answer = 'A long and complete answer.'
  const body =
    chunk({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: answer }, finish_reason: null }] }) +
    chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })
  // The usage chunk would follow; the caller hangs up first.
  upstream.enqueueFor('POST /v1/chat/completions', { status: 200, headers: { 'content-type': 'text/event-stream' }, body, stallAfterBytes: Buffer.byteLength(body) })
  const status = await hangUpAfter('/v1/chat/completions', 'chat_cut', { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: PROMPT }] }, answer)
  t.equal(status, 200)

  t.ok((await dailySpend('chat_cut')) > 0, 'the key spent more than $0')
  const tokens = await keyTokens('chat_cut')
  // The prompt's text (and the role's few characters), four characters a token.
  t.ok(tokens.input >= estimate(PROMPT.length) && tokens.input <= estimate(PROMPT.length + 16), `input tokens estimated from the request (${tokens.input})`)
  t.equal(tokens.output, estimate(answer.length), 'output tokens estimated from the text the caller was sent')
  const span = await requestSpan('chat_cut')
  t.equal(span.attributes['llm.usage.estimated'], true, 'the span says the usage is an estimate')
  t.equal(span.attributes['llm.cancelled'], true)
})

t.test('a Responses stream cancelled before response.completed is charged an estimate', async (t) => {
  const full = loadFixture('openai-responses-text-stream').response.body
  const body = full.slice(0, full.indexOf('event: response.output_text.done'))
  const deltas = responseStreamEvents(body).filter((e) => e.type === 'response.output_text.delta') as unknown as { delta: string; obfuscation: string }[]
  const text = deltas.map((e) => e.delta).join('')
  upstream.enqueueFor('POST /v1/responses', { status: 200, headers: { 'content-type': 'text/event-stream' }, body, stallAfterBytes: Buffer.byteLength(body) })
  // The last delta passed on (its obfuscation is unique), then the caller hangs up.
  await hangUpAfter('/v1/responses', 'responses_cut', { model: 'gpt-4o-mini', stream: true, input: PROMPT }, deltas.at(-1)!.obfuscation)

  t.ok((await dailySpend('responses_cut')) > 0, 'the key spent more than $0')
  const tokens = await keyTokens('responses_cut')
  t.ok(tokens.input >= estimate(PROMPT.length) && tokens.input <= estimate(PROMPT.length + 16), `input tokens estimated from the request (${tokens.input})`)
  t.equal(tokens.output, estimate(text.length), 'output tokens estimated from the text the caller was sent')
  t.equal((await requestSpan('responses_cut')).attributes['llm.usage.estimated'], true)
})

t.test('an Anthropic stream cancelled mid-answer keeps the tokens its first event reported', async (t) => {
  const events = [
    { type: 'message_start', message: { id: 'msg_cut', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-latest', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
  ]
  const body = events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('')
  upstream.enqueueFor('POST /v1/messages', { status: 200, headers: { 'content-type': 'text/event-stream' }, body, stallAfterBytes: Buffer.byteLength(body) })
  await hangUpAfter('/v1/messages', 'messages_cut', { model: 'claude-3-5-haiku-latest', max_tokens: 64, stream: true, messages: [{ role: 'user', content: PROMPT }] }, 'Hello')

  t.same(await keyTokens('messages_cut'), { input: 25, output: 1 }, "the upstream's own numbers, not an estimate from the text")
  t.equal((await requestSpan('messages_cut')).attributes['llm.usage.estimated'], undefined)
})

t.test('a chat stream read to its end is charged the usage its last chunk reported', async (t) => {
  upstream.enqueueFor('POST /v1/chat/completions', { fixture: 'openai-chat-text-stream-include-usage' })
  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret('completed'), maxRetries: 0 })
  const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: PROMPT }] })
  let usage: OpenAI.CompletionUsage | null | undefined
  for await (const part of stream) usage = part.usage ?? usage
  t.ok(usage, 'the last chunk carried the usage')

  t.ok((await dailySpend('completed')) > 0)
  t.same(await keyTokens('completed'), { input: usage!.prompt_tokens, output: usage!.completion_tokens }, "the upstream's own numbers")
  const span = await requestSpan('completed')
  t.equal(span.attributes['llm.usage.estimated'], undefined)
  t.equal(span.attributes['llm.tokens.input'], usage!.prompt_tokens)
})
