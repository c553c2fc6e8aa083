// Issue 13, the response cache: one large cached stream must not stall the gateway for everyone
// else. A hit's events are all in memory: nothing waits for an upstream, and a caller that reads
// as fast as the gateway writes never makes the socket push back, so without a pause the whole
// replay would run in one go; and writing such an entry out, or reading it back, is long work
// too. Here a chat stream of 150,000 chunks (~30 MB) is cached, then replayed to a caller reading
// at full speed, while the test polls GET /health throughout. Measured inside the gateway (a
// preload timing its event loop) with 400,000 chunks (71 MB), the longest block was 1,042 ms
// around the miss (the stream stringified as JSON in JSON) and 355 ms on the hit (parsed back in
// one go) before the fix; 270 ms and 53 ms after (the rest is garbage collection). The bound is
// generous for a loaded 2-core CI VM (see test/hardening/event-loop.test.ts).
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { whilePollingHealth } from '../support/health-poll.ts'
import { cacheHeaders, parseAnswer, postRaw, startCachingGateway } from './helpers.ts'

t.setTimeout(300_000)

const CHUNKS = 150_000
/** Worst /health latency allowed while the hit is replayed. */
const HEALTH_BOUND_MS = 1000

/** The upstream: one long chat stream, written at once (the emulator's paced pieces would take minutes). */
function longStream(): string {
  const frames: string[] = []
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-long', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta, finish_reason: finish }], usage: null })}\n\n`
  frames.push(chunk({ role: 'assistant', content: '' }))
  for (let i = 0; i < CHUNKS; i++) frames.push(chunk({ content: ` word${i}` }))
  frames.push(chunk({}, 'stop'))
  const usage = { prompt_tokens: 10, completion_tokens: CHUNKS, total_tokens: CHUNKS + 10 }
  frames.push(`data: ${JSON.stringify({ id: 'chatcmpl-long', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [], usage })}\n\n`)
  frames.push('data: [DONE]\n\n')
  return frames.join('')
}
const body = longStream()
let upstreamCalls = 0
const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    upstreamCalls++
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(body)
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))

const { gateway } = await startCachingGateway(
  t,
  { cache: { ttlSeconds: 600, maxBytes: 256 * 1024 * 1024, maxEntryBytes: 128 * 1024 * 1024 } },
  { env: { OPENAI_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, UPSTREAM_TOTAL_TIMEOUT_MS: '300000' } },
)

t.test('a 30 MB cached stream replays while /health keeps answering', async (t) => {
  const request = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Count, at length' }] }
  // The answers are parsed once the polling is over: parsing 30 MB in this process would hold up
  // its own /health polls and pass for the gateway's delay.
  const miss = await whilePollingHealth(gateway.url, () => postRaw(gateway.url, '/v1/chat/completions', request))
  const first = parseAnswer(miss.result)
  t.comment(`the first call, streamed from upstream and kept: ${miss.ms.toFixed(0)} ms; slowest /health meanwhile ${miss.worstHealthMs.toFixed(0)} ms`)
  t.equal(first.status, 200)
  t.equal(cacheHeaders(first).cache, 'miss')
  t.equal(first.events.length, CHUNKS + 2, "the whole stream came through (role, words, finish; the usage chunk not asked for)")

  const { result, worstHealthMs, ms } = await whilePollingHealth(gateway.url, () => postRaw(gateway.url, '/v1/chat/completions', request))
  const hit = parseAnswer(result)
  t.comment(`replay of ${CHUNKS} chunks (${(first.text.length / 1024 / 1024).toFixed(0)} MB) took ${ms.toFixed(0)} ms; slowest /health meanwhile ${worstHealthMs.toFixed(0)} ms`)
  t.equal(cacheHeaders(hit).cache, 'hit', 'the repeat is a hit')
  t.equal(upstreamCalls, 1, 'that never reached the upstream')
  t.equal(hit.events.length, first.events.length, 'with every chunk')
  const text = (answer: typeof hit) => answer.events.map((e) => (e.data.choices as Array<{ delta: { content?: string } }>)[0]?.delta.content ?? '').join('')
  t.equal(text(hit), text(first), 'the same text')
  t.ok(miss.worstHealthMs < HEALTH_BOUND_MS, `/health answered within ${miss.worstHealthMs.toFixed(0)} ms (bound ${HEALTH_BOUND_MS} ms) while the stream was kept`)
  t.ok(worstHealthMs < HEALTH_BOUND_MS, `/health answered within ${worstHealthMs.toFixed(0)} ms (bound ${HEALTH_BOUND_MS} ms) during the replay`)
})
