// REDIS_CACHE_URL: the response cache in a Redis of its own (one that may evict freely), apart
// from REDIS_URL's, which holds named keys, rate limits and spend and must never lose them to the
// cache's pressure. A cached answer lands in the cache's Redis only, and is a hit from there.
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { startGateway } from '../support/gateway.ts'
import { jsonReply } from '../support/fixture-variants.ts'
import { CACHE_KEY_PATTERN, REDIS_MISSING, REDIS_SERVER, cachedGroupConfig, startRedis, type RedisServer } from '../support/redis.ts'
import { providerEnv, startUpstream, type Upstream } from '../support/upstream.ts'

if (!REDIS_SERVER) {
  t.plan(0, REDIS_MISSING)
  process.exit(0)
}
t.setTimeout(120_000)

const GROUP = 'cached-smart'
const dir = mkdtempSync(join(tmpdir(), 'gateway-redis-cache-url-'))
const [state, cache, upstream] = await Promise.all([startRedis(), startRedis(), startUpstream()])
const gateway = await startGateway({
  timeoutMs: 45_000,
  env: { GATEWAY_CONFIG: cachedGroupConfig(dir, GROUP), REDIS_URL: state.url, REDIS_CACHE_URL: cache.url, ...providerEnv(upstream) },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([state.close(), cache.close(), upstream.close()])
  rmSync(dir, { recursive: true, force: true })
})

/**
 * Asks `question` twice through the gateway at `url`: a miss whose answer lands in `kept` (waited
 * for), then a hit, with one upstream call in all. `between` checks what must hold meanwhile.
 */
async function missThenHit(t: Test, url: string, kept: RedisServer, upstream: Upstream, question: string, between = async () => {}): Promise<void> {
  upstream.enqueue(jsonReply('openai-chat-text-nonstream'))
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
  const ask = () => client.chat.completions.create({ model: GROUP, messages: [{ role: 'user', content: question }] }).withResponse()
  const first = await ask()
  t.equal(first.response.headers.get('x-gateway-cache'), 'miss')
  const until = Date.now() + 10_000
  while ((await kept.keys(CACHE_KEY_PATTERN)).length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 25))
  t.equal((await kept.keys(CACHE_KEY_PATTERN)).length, 1, "one entry in the cache's Redis")
  await between()
  const second = await ask()
  t.equal(second.response.headers.get('x-gateway-cache'), 'hit', 'the repeat is a hit')
  t.equal(upstream.requests.length, 1, 'one upstream call in all')
}

t.test("the answer is kept in REDIS_CACHE_URL's Redis, not REDIS_URL's, and hits from there", async (t) => {
  await missThenHit(t, gateway.url, cache, upstream, 'Kept where?', async () => {
    t.same(await state.keys(CACHE_KEY_PATTERN), [], "none in REDIS_URL's")
  })
})

t.test("a gateway whose cache connection is slow to become ready still caches its first answer", async (t) => {
  // The cache's connection, like the keys' and the limits', is waited for at start-up (at most
  // CONNECT_TIMEOUT_MS, 2 s): until it is ready its commands fail at once, and a first answer saved
  // before then was lost. Here a proxy in front of Redis drops the gateway's connections for 0.6 s
  // after the first one (a Redis still starting, a loaded machine); the client retries meanwhile.
  const [late, lateUpstream] = await Promise.all([startRedis(), startUpstream()])
  let open = false
  let first = true
  const proxy = createServer((socket) => {
    if (!open) {
      if (first) setTimeout(() => (open = true), 600)
      first = false
      return void socket.destroy()
    }
    const redis = connect(late.port, '127.0.0.1')
    socket.pipe(redis).pipe(socket)
    const close = () => {
      socket.destroy()
      redis.destroy()
    }
    socket.on('error', close).on('close', close)
    redis.on('error', close).on('close', close)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const lateDir = mkdtempSync(join(tmpdir(), 'gateway-redis-late-'))
  const lateGateway = await startGateway({
    timeoutMs: 45_000,
    env: {
      GATEWAY_CONFIG: cachedGroupConfig(lateDir, GROUP),
      REDIS_CACHE_URL: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      ...providerEnv(lateUpstream),
    },
  })
  t.teardown(async () => {
    await lateGateway.stop()
    proxy.close()
    await Promise.all([late.close(), lateUpstream.close()])
    rmSync(lateDir, { recursive: true, force: true })
  })
  t.notOk(first, 'the gateway had connected before it listened')
  await missThenHit(t, lateGateway.url, late, lateUpstream, 'First of all?')
})
