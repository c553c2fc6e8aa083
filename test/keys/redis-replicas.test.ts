// Issue 14, the admin API's keys in Redis (REDIS_URL): two gateway processes on one Redis (Debian's
// redis-server) share them. A key created on A works on B by the very next request; a key revoked
// on A is refused on B by the very next request (each request of an admin key asks Redis, the
// announcement on the channel only warms the other replicas' caches). Redis stopped: a key a
// replica already knows keeps working as last known, a key it does not know is refused (503
// key_store_unavailable, never let in), the admin API answers 503; logged once; back when Redis is.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { REDIS_MISSING, REDIS_SERVER, startRedis } from '../support/redis.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { admin, callIngress, eventually, INGRESSES, type CreatedKey } from './helpers.ts'

if (!REDIS_SERVER) {
  t.plan(0, REDIS_MISSING)
  process.exit(0)
}
t.setTimeout(180_000)

const MASTER = 'master-key-redis-4d3c2b1a0f9e'
const PASSWORD = 'redis-keys-pass-6a5b4c3d'
const redis = await startRedis({ password: PASSWORD })
const upstream = await startUpstream()
const env = { GATEWAY_MASTER_KEY: MASTER, REDIS_URL: redis.url, HOST: '127.0.0.1', ...providerEnv(upstream) }
const [a, b] = await Promise.all([startGateway({ timeoutMs: 60_000, env }), startGateway({ timeoutMs: 60_000, env })])
t.teardown(async () => {
  await Promise.all([a.stop(), b.stop()])
  await Promise.all([upstream.close(), redis.close()])
})
const adminA = admin(a.url, MASTER)
const adminB = admin(b.url, MASTER)
const secrets: string[] = [MASTER, PASSWORD]

t.test('a key created on A works on B at once, on every ingress; B lists it; Redis holds no secret', async (t) => {
  const key = (await adminA.create({ name: 'shared', team: 'search' })).body as CreatedKey
  secrets.push(key.secret)
  // The very next request, on the other replica.
  for (const ingress of INGRESSES) t.equal((await callIngress(b.url, ingress, { key: key.secret, upstream })).status, 200, `${ingress} on B`)
  const listed = (await adminB.list()).body as { data: Array<{ id: string }> }
  t.ok(listed.data.some((entry) => entry.id === key.id), 'B lists it')
  t.match((await adminB.get(key.id)).body, { id: key.id, name: 'shared', team: 'search', revoked: false })
  const stored = await redis.keys('sik-llms-gateway:keys:*')
  t.ok(stored.length > 0, 'kept in Redis')
})

t.test('a key revoked on A is refused on B by the very next request, on every ingress', async (t) => {
  const key = (await adminA.create({ name: 'to-revoke' })).body as CreatedKey
  secrets.push(key.secret)
  t.equal((await callIngress(b.url, 'chat', { key: key.secret, upstream })).status, 200, 'B knows it')
  t.equal((await adminA.revoke(key.id)).status, 200)
  for (const ingress of INGRESSES) {
    const outcome = await callIngress(b.url, ingress, { key: key.secret })
    t.equal(outcome.status, 401, `${ingress} on B`)
    if (ingress !== 'messages') t.equal(outcome.error?.code, 'revoked_api_key')
  }
  t.equal((await callIngress(a.url, 'chat', { key: key.secret })).status, 401, 'and on A')
})

/** B's recent traces (its trace store), as the master key reads them. */
async function tracesOnB(): Promise<Array<{ trace_id: string; root: string; http_status: number | null; key_name: string | null }>> {
  const response = await fetch(`${b.url}/v1/traces?limit=100`, { headers: { authorization: `Bearer ${MASTER}` } })
  return ((await response.json()) as { data: Array<{ trace_id: string; root: string; http_status: number | null; key_name: string | null }> }).data
}

t.test("the SERVER span follows the shared store's word, not the replica's cache: a key new to B is traced whole, a key revoked on A leaves no trace on B", async (t) => {
  const key = (await adminA.create({ name: 'traced-on-b' })).body as CreatedKey
  secrets.push(key.secret)
  upstream.enqueueFor('POST /v1/chat/completions', { fixture: 'openai-chat-text-nonstream' })
  const answer = await fetch(`${b.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.secret}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(answer.status, 200)
  const traceId = answer.headers.get('x-trace-id')
  t.match(traceId, /^[0-9a-f]{32}$/, 'the answer names its trace')
  await answer.arrayBuffer()
  t.ok(await eventually(async () => (await tracesOnB()).some((trace) => trace.trace_id === traceId)), "B's trace store holds it")
  const trace = (await tracesOnB()).find((entry) => entry.trace_id === traceId)
  t.match(trace, { root: 'POST /v1/chat/completions', http_status: 200, key_name: 'traced-on-b' }, 'rooted in the SERVER span, which names the key')

  t.equal((await adminA.revoke(key.id)).status, 200)
  const before = (await tracesOnB()).length
  const refused = await fetch(`${b.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.secret}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(refused.status, 401, 'B knew the key as valid, the shared store says revoked')
  t.equal(refused.headers.get('x-trace-id'), null, 'no trace id for a refused caller')
  await new Promise((resolve) => setTimeout(resolve, 300))
  const after = await tracesOnB()
  t.equal(after.length, before, 'and no trace on B (a caller without a valid key makes none)')
  t.notOk(after.some((entry) => entry.http_status === 401), 'no refused request among them')
})

t.test('Redis stopped: known keys keep working, unknown keys are refused (503), the admin API answers 503; back with Redis', async (t) => {
  const known = (await adminA.create({ name: 'known-on-b' })).body as CreatedKey
  secrets.push(known.secret)
  t.equal((await callIngress(b.url, 'agent', { key: known.secret })).status, 200, 'B knows it')
  const before = b.logs().length
  await redis.stop()
  t.equal((await callIngress(b.url, 'agent', { key: known.secret })).status, 200, 'a key B knows keeps working')
  const unknown = await callIngress(b.url, 'chat', { key: 'sk-gw-never-created-0a1b2c3d4e5f' })
  t.equal(unknown.status, 503, 'a key B does not know is not let in')
  t.equal(unknown.error?.code, 'key_store_unavailable')
  const create = await adminA.create({ name: 'during-outage' })
  t.equal(create.status, 503)
  t.match(create.body, { error: { code: 'key_store_unavailable' } })
  await callIngress(b.url, 'chat', { key: 'sk-gw-never-created-9f8e7d6c5b4a' })
  const warnings = b.logs().slice(before).filter((line) => String(line.msg).startsWith('keys: Redis is unreachable'))
  t.equal(warnings.length, 1, `the outage is logged once: ${JSON.stringify(warnings)}`)

  await redis.restart()
  t.ok(await eventually(async () => (await adminA.create({ name: 'after-outage' })).status === 201), 'the admin API works again')
  t.ok(await eventually(async () => b.logs().some((line) => line.msg === 'keys: Redis is reachable again')), 'the end of the outage is logged')
})

t.test('no secret (keys, master key, Redis password) in any log line', async (t) => {
  for (const gateway of [a, b]) {
    for (const secret of secrets) t.notOk(gateway.lines.some((line) => line.includes(secret)), `${secret.slice(0, 10)}… not logged`)
  }
})
