// Issue 14, named keys from GATEWAY_KEYS_FILE: a key of the file is let in on every ingress API,
// sent as a Bearer token or as x-api-key; a wrong or revoked key is a 401 in the caller's API's
// shape; a model outside the key's allow-list is a 403 before any upstream call; GATEWAY_API_KEYS
// keep working beside them; the master key calls no model. The file is reloaded without a
// restart (a key added, a key revoked) and a bad edit keeps the last good keys, logged once.
import t from 'tap'
import Anthropic from '@anthropic-ai/sdk'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../support/gateway.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { callIngress, eventually, INGRESSES, keysFileJson, MODELS, replaceFile, type KeyEntry } from './helpers.ts'

t.setTimeout(180_000)

const ALICE: KeyEntry = { id: 'key_alice', name: 'alice', team: 'search', secret: 'sk-gw-alice-0f3a9c1e7b5d2468', models: Object.values(MODELS) }
const BOB: KeyEntry = { id: 'key_bob', name: 'bob', team: 'ads', secret: 'sk-gw-bob-9e8d7c6b5a4f3e2d' }
const CAROL: KeyEntry = { id: 'key_carol', name: 'carol', secret: 'sk-gw-carol-1a2b3c4d5e6f7a8b', revoked: true }
const DAVE: KeyEntry = { id: 'key_dave', name: 'dave', secret: 'sk-gw-dave-7f6e5d4c3b2a1f0e' }
const UNNAMED = 'unnamed-key-5c4b3a29f8e7'
const MASTER = 'master-key-3e2d1c0b9a8f7e6d'

const dir = mkdtempSync(join(tmpdir(), 'gateway-keys-file-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(keysFile, keysFileJson([ALICE, BOB, CAROL], { search: { budgets: { dailyUsd: 5 } } }))
const upstream = await startUpstream()
const gateway = await startGateway({
  timeoutMs: 60_000,
  env: { GATEWAY_KEYS_FILE: keysFile, GATEWAY_API_KEYS: UNNAMED, GATEWAY_MASTER_KEY: MASTER, HOST: '127.0.0.1', ...providerEnv(upstream) },
})
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})
t.beforeEach(() => upstream.reset())

t.test('a key of the file works on every ingress API, as a Bearer token and as x-api-key', async (t) => {
  for (const ingress of INGRESSES) {
    for (const header of ['bearer', 'x-api-key'] as const) {
      const outcome = await callIngress(gateway.url, ingress, { key: ALICE.secret, header, upstream })
      t.equal(outcome.status, 200, `${ingress} with ${header}: ${JSON.stringify(outcome.error)}`)
    }
  }
  // A key without `models` may call any model.
  t.equal((await callIngress(gateway.url, 'chat', { key: BOB.secret, model: 'gpt-4o', upstream })).status, 200, 'bob: any model')
  t.equal((await callIngress(gateway.url, 'messages', { key: UNNAMED, upstream })).status, 200, 'GATEWAY_API_KEYS keep working')
})

t.test('a wrong key and a revoked key are 401s, in the shape of the caller API', async (t) => {
  for (const ingress of INGRESSES) {
    const anthropic = ingress === 'messages'
    for (const [key, code] of [['sk-gw-alice-0f3a9c1e7b5d246', 'invalid_api_key'], [CAROL.secret, 'revoked_api_key']] as const) {
      const outcome = await callIngress(gateway.url, ingress, { key, header: 'x-api-key' })
      t.equal(outcome.status, 401, `${ingress}: ${code}`)
      if (anthropic) {
        t.ok(outcome.anthropicShape, "Anthropic's error shape on /v1/messages")
        t.equal(outcome.error?.type, 'authentication_error')
      } else {
        t.equal(outcome.error?.type, 'invalid_request_error')
        t.equal(outcome.error?.code, code)
      }
    }
  }
  t.equal(upstream.requests.length, 0, 'nothing reached the upstream')
})

t.test("a model outside the key's allow-list is a 403 on every ingress, before any upstream call", async (t) => {
  for (const ingress of INGRESSES) {
    const outcome = await callIngress(gateway.url, ingress, { key: ALICE.secret, model: 'gpt-4o' })
    t.equal(outcome.status, 403, ingress)
    if (ingress === 'messages') {
      t.ok(outcome.anthropicShape, "Anthropic's error shape")
      t.equal(outcome.error?.type, 'permission_error')
    } else {
      t.equal(outcome.error?.type, 'invalid_request_error')
      t.equal(outcome.error?.code, 'model_not_allowed')
    }
    t.match(outcome.error?.message, /alice.*gpt-4o/, 'the message names the key and the model')
    t.notMatch(outcome.error?.message, ALICE.secret, 'never the secret')
  }
  // count_tokens too: any POST under /v1 whose body names a model.
  const counted = await new Anthropic({ baseURL: gateway.url, apiKey: ALICE.secret, maxRetries: 0 })
    .messages.countTokens({ model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'hi' }] })
    .then(() => undefined, (error: { status?: number; error?: { error?: { type?: string } } }) => error)
  t.equal(counted?.status, 403, 'count_tokens: 403')
  t.equal(counted?.error?.error?.type, 'permission_error')
  t.equal(upstream.requests.length, 0, 'nothing reached the upstream')
})

t.test('the master key calls no model (403), and the admin API refuses every other key (403)', async (t) => {
  for (const ingress of INGRESSES) {
    const outcome = await callIngress(gateway.url, ingress, { key: MASTER })
    t.equal(outcome.status, 403, ingress)
    if (ingress !== 'messages') t.equal(outcome.error?.code, 'master_key_not_for_models')
  }
  for (const key of [ALICE.secret, UNNAMED]) {
    const response = await fetch(`${gateway.url}/admin/keys`, { headers: { authorization: `Bearer ${key}` } })
    const body = (await response.json()) as { error: { code: string } }
    t.equal(response.status, 403)
    t.equal(body.error.code, 'master_key_required')
  }
})

t.test('the file is reloaded without a restart: a key added, a key revoked; a bad edit keeps the last good keys, logged once', async (t) => {
  const works = async (key: string) => (await callIngress(gateway.url, 'agent', { key })).status === 200
  t.notOk(await works(DAVE.secret), 'dave is not in the file yet')
  replaceFile(keysFile, keysFileJson([ALICE, BOB, CAROL, DAVE]))
  t.ok(await eventually(() => works(DAVE.secret)), 'dave works once added, without a restart')
  replaceFile(keysFile, keysFileJson([ALICE, { ...BOB, revoked: true }, CAROL, DAVE]))
  t.ok(await eventually(async () => (await callIngress(gateway.url, 'agent', { key: BOB.secret })).error?.code === 'revoked_api_key'), 'bob revoked')

  const bad = JSON.stringify({ keys: [{ id: 'key_eve', name: 'eve', hash: 'sha256:nothex', secret: 'oops' }, { id: 'bad id', name: '' }] })
  replaceFile(keysFile, bad)
  t.ok(await eventually(async () => gateway.logs().some((line) => line.msg === 'keys file: not reloaded, the last good keys stay in use')), 'the bad edit is logged')
  // Touched again with the same bad text: not logged again.
  await new Promise((resolve) => setTimeout(resolve, 1_200))
  replaceFile(keysFile, `${bad}\n`)
  await new Promise((resolve) => setTimeout(resolve, 2_500))
  const warnings = gateway.logs().filter((line) => line.msg === 'keys file: not reloaded, the last good keys stay in use')
  t.equal(warnings.length, 1, 'logged once')
  const problems = (warnings[0]?.problems ?? []) as string[]
  t.ok(problems.some((p) => p.startsWith('keys.0.hash ')), `the bad hash named by its path: ${problems.join(' | ')}`)
  t.ok(problems.some((p) => p.startsWith('keys.0 has unknown key "secret"')), 'a secret written in the file is named')
  t.ok(problems.some((p) => p.startsWith('keys.1.id ')), 'the bad id named')
  t.ok(await works(ALICE.secret), 'alice still works')
  t.ok(await works(DAVE.secret), 'dave still works')
  t.notOk(await works(BOB.secret), 'bob is still revoked')
  t.notOk(gateway.lines.some((line) => line.includes('oops') || line.includes(ALICE.secret)), 'no secret in the logs')
})

t.test('a bad keys file stops the start, each problem named by its path', async (t) => {
  const badFile = join(dir, 'bad.json')
  writeFileSync(badFile, JSON.stringify({ keys: [{ id: 'key_x', name: 'x', hash: 'sha256:00', limits: { requestsPerMinuet: 5 } }], teams: { a: { budgets: { dailyUsd: -1 } } } }))
  const error = await startGateway({ timeoutMs: 30_000, env: { GATEWAY_KEYS_FILE: badFile } }).then(
    (started) => started.stop().then(() => undefined),
    (failure: Error) => failure,
  )
  t.ok(error, 'the gateway does not start')
  const text = String(error?.message)
  t.match(text, /GATEWAY_KEYS_FILE \(.*bad\.json\): keys\.0\.hash must be "sha256:<64 hex digits>"/)
  t.match(text, /keys\.0\.limits has unknown key "requestsPerMinuet"/)
  t.match(text, /teams\.a\.budgets\.dailyUsd must be a number ≥ 0/)
})
