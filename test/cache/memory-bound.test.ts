// Issue 13, the response cache's in-memory store is bounded in bytes, in the process's memory and
// not only in its own count. 160 distinct answers of 1 MB each (in V8: 512 K characters with an
// emoji, so two bytes a character — a store charging UTF-8 length would count half of it and
// hold twice its bound) go through a gateway whose cache may hold 16 MiB; after a full GC the
// RSS of the gateway process (/proc/<pid>/status) must have grown by about the bound, far less
// than the 160 MB sent, and the V8 heap by the bound and little more (a store charging UTF-8
// length let it grow by 30 MB and RSS by 60 MB; charging what V8 holds, 9–14 MB and 29–44 MB).
// The first answers were evicted (a miss again), the last are still hits.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { cacheHeaders, post, startCachingGateway } from './helpers.ts'
import { afterGc } from '../support/process-memory.ts'

t.setTimeout(600_000)

const ANSWERS = 160
const ANSWER_CHARS = 512 * 1024
const MAX_BYTES = 16 * 1024 * 1024
/** The bound and the allocator's slack; keeping every answer would be > 160 MB. */
const MAX_GROWTH_MB = 16 + 48

// The upstream: a 1 MB answer at once (the emulator's paced pieces would take a minute for 160).
const content = `${'a'.repeat(ANSWER_CHARS - 2)}😀`
let upstreamCalls = 0
const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    upstreamCalls++
    const completion = {
      id: `chatcmpl-${upstreamCalls}`,
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 100_000, total_tokens: 100_005 },
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion))
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))

const gcOnSignal = fileURLToPath(new URL('../traces/fixtures/gc-on-signal.mjs', import.meta.url))
const { gateway } = await startCachingGateway(
  t,
  { cache: { ttlSeconds: 3600, maxBytes: MAX_BYTES, maxEntryBytes: 4 * 1024 * 1024 } },
  { nodeArgs: ['--expose-gc', '--import', gcOnSignal], env: { OPENAI_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` } },
)

const ask = (i: number) => post(gateway.url, '/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `answer ${i}` }] })

t.test(`${ANSWERS} distinct answers of 1 MB through a 16 MiB cache: RSS grows by about the bound`, async (t) => {
  // Warm up (JIT, pools, the first large bodies), then measure from the steady state.
  for (let i = 0; i < 4; i++) await ask(-1 - i)
  await sleep(1000)
  const baseline = await afterGc(t, gateway)
  const calls = upstreamCalls

  for (let i = 0; i < ANSWERS; i++) {
    const answer = await ask(i)
    if (answer.status !== 200 || cacheHeaders(answer).cache !== 'miss') throw new Error(`answer ${i}: ${answer.status} ${cacheHeaders(answer).cache}`)
  }
  t.equal(upstreamCalls - calls, ANSWERS, 'every answer came from upstream once')
  await sleep(1000)
  let after = await afterGc(t, gateway)
  for (let attempt = 0; attempt < 3 && after.rss - baseline.rss >= MAX_GROWTH_MB; attempt++) {
    await sleep(1000)
    const again = await afterGc(t, gateway)
    after = { rss: Math.min(after.rss, again.rss), heap: Math.min(after.heap, again.heap) }
  }
  const growth = after.rss - baseline.rss
  t.comment(`gateway RSS ${baseline.rss.toFixed(0)} MB after warm-up, ${after.rss.toFixed(0)} MB after ${ANSWERS} × 1 MB answers (+${growth.toFixed(0)} MB)`)
  t.ok(growth < MAX_GROWTH_MB, `RSS grew by ${growth.toFixed(0)} MB, under ${MAX_GROWTH_MB} MB (the answers sent: ${ANSWERS} MB)`)
  const heapGrowth = after.heap - baseline.heap
  t.ok(heapGrowth < MAX_BYTES / 1024 / 1024 + 8, `the V8 heap after GC grew by ${heapGrowth.toFixed(0)} MB: the bound (${MAX_BYTES / 1024 / 1024} MB) and little more`)

  // Which answers are still there: the last ones, not the first.
  const last = await ask(ANSWERS - 1)
  t.equal(cacheHeaders(last).cache, 'hit', 'the last answer is still cached')
  const first = await ask(0)
  t.equal(cacheHeaders(first).cache, 'miss', 'the first was evicted long ago')
  t.equal(upstreamCalls - calls, ANSWERS + 1)
})
