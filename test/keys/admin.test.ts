// Issue 14, the admin API (/admin/keys) behind GATEWAY_MASTER_KEY, with its keys in memory (one
// process): a key created answers its secret once and works on every ingress at once; listing and
// reading show neither secret nor hash; a revoked key is refused by the next request; only the
// master key administers, and the keys file's keys are revoked in the file.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../support/gateway.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { admin, callIngress, INGRESSES, keysFileJson, type CreatedKey } from './helpers.ts'

t.setTimeout(120_000)

const MASTER = 'master-key-8a7b6c5d4e3f2a1b'
const FILE_KEY = { id: 'key_file', name: 'from-file', secret: 'sk-gw-file-2b3c4d5e6f7a8b9c' }
const dir = mkdtempSync(join(tmpdir(), 'gateway-admin-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(keysFile, keysFileJson([FILE_KEY]))
const upstream = await startUpstream()
const gateway = await startGateway({ timeoutMs: 60_000, env: { GATEWAY_MASTER_KEY: MASTER, GATEWAY_KEYS_FILE: keysFile, HOST: '127.0.0.1', ...providerEnv(upstream) } })
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})
const api = admin(gateway.url, MASTER)

t.test('create: the secret once, the key works at once on every ingress; list and get show no secret nor hash', async (t) => {
  const created = await api.create({ name: 'ci-bot', team: 'platform', metadata: { owner: 'ops' }, models: ['gpt-4o-mini'], budgets: { dailyUsd: 1 } })
  t.equal(created.status, 201)
  const key = created.body as CreatedKey
  t.match(key.id, /^key_/)
  t.match(key.secret, /^sk-gw-/)
  t.equal(key.name, 'ci-bot')
  t.equal(key.team, 'platform')
  t.notOk('digest' in key || 'hash' in key, 'no hash in the answer')
  t.equal((await callIngress(gateway.url, 'chat', { key: key.secret, upstream })).status, 200, 'works at once')
  t.equal((await callIngress(gateway.url, 'chat', { key: key.secret, model: 'gpt-4o' })).status, 403, 'its allow-list holds')
  const anyModel = (await api.create({ name: 'any-model' })).body as CreatedKey
  for (const ingress of INGRESSES) {
    for (const header of ['bearer', 'x-api-key'] as const) {
      t.equal((await callIngress(gateway.url, ingress, { key: anyModel.secret, header, upstream })).status, 200, `${ingress}, ${header}`)
    }
  }

  const listed = await api.list()
  t.equal(listed.status, 200)
  const text = JSON.stringify(listed.body)
  t.notMatch(text, key.secret, 'no secret in the list')
  t.notMatch(text, /sha256|digest|hash/, 'no hash in the list')
  const entries = (listed.body as { data: Array<{ id: string; source: string; name: string }> }).data
  t.same(entries.map((e) => [e.id, e.source]).sort(), [[FILE_KEY.id, 'file'], [key.id, 'admin'], [anyModel.id, 'admin']].sort(), "the file's key and the created ones")
  const one = await api.get(key.id)
  t.equal(one.status, 200)
  t.notMatch(JSON.stringify(one.body), key.secret)
  t.notMatch(JSON.stringify(one.body), /sha256|digest|hash/)
  t.match(one.body, { id: key.id, name: 'ci-bot', team: 'platform', metadata: { owner: 'ops' }, models: ['gpt-4o-mini'], budgets: { dailyUsd: 1 }, revoked: false })
  t.equal((await api.get('key_nope')).status, 404)
  const spend = await api.spend(key.id)
  t.equal(spend.status, 200, 'the spend route answers')
  // The limits' store answers it (src/limits): the key's and its team's spend, today and this month.
  t.match(spend.body, { id: key.id, spend: { key: { id: key.id, name: 'ci-bot' }, team: { name: 'platform' } } })
  t.notOk(gateway.lines.some((line) => line.includes(key.secret)), 'the secret is in no log line')
})

t.test('revoke: the next request with the key is refused, on every ingress', async (t) => {
  const key = (await api.create({ name: 'short-lived' })).body as CreatedKey
  t.equal((await callIngress(gateway.url, 'agent', { key: key.secret })).status, 200)
  const revoked = await api.revoke(key.id)
  t.equal(revoked.status, 200)
  t.match(revoked.body, { id: key.id, revoked: true })
  for (const ingress of INGRESSES) {
    const outcome = await callIngress(gateway.url, ingress, { key: key.secret })
    t.equal(outcome.status, 401, ingress)
    if (ingress !== 'messages') t.equal(outcome.error?.code, 'revoked_api_key')
  }
  t.equal((await api.revoke(FILE_KEY.id)).status, 400, "a file key is revoked in the file, not here")
})

t.test('only the master key administers; a bad key definition is a 400 naming its field', async (t) => {
  const key = (await api.create({ name: 'someone' })).body as CreatedKey
  for (const other of [key.secret, FILE_KEY.secret]) {
    const refused = await admin(gateway.url, other).list()
    t.equal(refused.status, 403)
    t.match(refused.body, { error: { code: 'master_key_required' } })
  }
  t.equal((await admin(gateway.url, 'wrong-master-key-000000').list()).status, 401)
  const bad = await api.create({ name: '', limits: { requestsPerMinute: 0 }, secret: 'x' })
  t.equal(bad.status, 400)
  const message = (bad.body as { error: { message: string } }).error.message
  t.match(message, /name must be a non-empty string/)
  t.match(message, /limits\.requestsPerMinute must be a whole number ≥ 1/)
  t.match(message, /unknown key "secret"/)
})
