// Limits and the models they name (issue 14, review): a per-model limit holds however the caller
// spells the model (bare, `provider/model`, an alias, a route group sending calls to it), all
// counted in one counter; a request for a model the gateway does not serve is its 404 and uses up
// nothing of the key's limits; an agent run checks the budgets again before each turn after the
// first, so a run admitted with a cent left does not go on making paid turns.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashOf } from '../../src/keys/hash.ts'
import { startGateway } from '../support/gateway.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { agentEvents, calc, openaiTurn, postAgent } from '../agent/helpers.ts'
import { ask, awayFromMinuteEdge, type Answer, type Ingress } from './helpers.ts'

t.setTimeout(120_000)

const secret = (name: string) => `sk-gw-limits-${name}-8e1c5a7f3b2d`
const entry = (id: string, fields: Record<string, unknown>) => ({ id: `key_${id}`, name: id, hash: hashOf(secret(id)), ...fields })
// gpt-4o-mini: 50 input and 10 output tokens cost $0.0000135, more than these budgets.
const ONE_TURN_BUDGET = { dailyUsd: 0.00001 }

const keys = [
  entry('bare', { limits: { requestsPerMinute: 100, models: { 'gpt-4o-mini': { requestsPerMinute: 2 } } } }),
  entry('prefixed', { limits: { models: { 'openai/gpt-4o-mini': { requestsPerMinute: 1 } } } }),
  entry('unknown', { limits: { requestsPerMinute: 3, tokensPerMinute: 100_000 } }),
  entry('agent_json', { budgets: ONE_TURN_BUDGET }),
  entry('agent_stream', { budgets: ONE_TURN_BUDGET }),
]

const dir = mkdtempSync(join(tmpdir(), 'gateway-limits-models-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(keysFile, JSON.stringify({ keys }))
const configFile = join(dir, 'gateway.json')
writeFileSync(
  configFile,
  JSON.stringify({ aliases: { mini: 'openai/gpt-4o-mini' }, routes: { fast: { targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] } } }),
)
const upstream = await startUpstream()
const gateway = await startGateway({ timeoutMs: 60_000, env: { GATEWAY_KEYS_FILE: keysFile, GATEWAY_CONFIG: configFile, ...providerEnv(upstream) } })
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})
t.beforeEach(() => upstream.reset())

const call = (key: string, model: string, ingress: Ingress = 'chat', stream = false) => ask(gateway.url, ingress, { key: secret(key), model, stream, upstream })
const remaining = (answer: Answer) => answer.headers.get('x-ratelimit-remaining-requests')

t.test('a per-model limit counts every spelling of the model in one counter', async (t) => {
  await awayFromMinuteEdge()
  const first = await call('bare', 'gpt-4o-mini')
  t.equal(first.status, 200)
  t.equal(remaining(first), '1', 'the limit on gpt-4o-mini: 1 left')
  const second = await call('bare', 'openai/gpt-4o-mini')
  t.equal(second.status, 200)
  t.equal(remaining(second), '0', 'openai/gpt-4o-mini used the same limit')
  for (const model of ['openai/gpt-4o-mini', 'mini', 'fast', 'gpt-4o-mini']) {
    const refused = await call('bare', model)
    t.equal(refused.status, 429, `${model}: refused, the model's limit is spent`)
    t.equal(refused.error?.code, 'rate_limit_exceeded')
    t.match(refused.error?.message, `on model "${model}"`)
  }
  t.equal(upstream.requests.length, 2, 'the refused calls never reached the upstream')
  const other = await call('bare', 'gpt-4.1-nano')
  t.equal(other.status, 200, 'another model is served')

  t.equal((await call('prefixed', 'gpt-4o-mini')).status, 200, 'a limit configured as openai/gpt-4o-mini')
  const alias = await call('prefixed', 'mini')
  t.equal(alias.status, 429, 'binds the bare name and an alias of it too')
  t.equal(alias.error?.code, 'rate_limit_exceeded')
})

t.test('a model the gateway does not serve is a 404 that uses up nothing of the limits', async (t) => {
  await awayFromMinuteEdge()
  for (const [ingress, stream] of [['chat', false], ['chat', true], ['responses', false], ['embeddings', false], ['messages', false], ['agent', false]] as const) {
    const answer = await call('unknown', 'nosuchmodel', ingress, stream)
    t.equal(answer.status, 404, `${ingress}${stream ? ' streamed' : ''}: 404`)
    t.equal(remaining(answer), null, 'no rate-limit headers: nothing was admitted')
  }
  t.equal(upstream.requests.length, 0)
  const served = await call('unknown', 'gpt-4o-mini')
  t.equal(served.status, 200)
  t.equal(remaining(served), '2', 'of 3 requests a minute, only this one was counted')
})

const agentBody = (stream: boolean) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 6*7? Use the calculator.' }], stream })

t.test("an agent run: a turn that spends the key's budget is its last; the next turn is refused with insufficient_quota", async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_budget', '6*7')], usage: { input: 50, output: 10 } }))
  const answer = await postAgent(gateway.url, agentBody(false), { authorization: `Bearer ${secret('agent_json')}` })
  t.equal(answer.status, 429)
  t.match(answer.json.error, { type: 'insufficient_quota', code: 'insufficient_quota' })
  t.match((answer.json.error as { message: string }).message, 'daily budget of the key "agent_json" ($0.00001) is spent')
  t.equal(upstream.requests.length, 1, 'one paid turn, not a second')
})

t.test('a streamed agent run: the refused turn ends the stream with its error event', async (t) => {
  upstream.enqueue(openaiTurn({ toolCalls: [calc('call_budget_stream', '6*7')], usage: { input: 50, output: 10 } }))
  const response = await fetch(`${gateway.url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret('agent_stream')}` },
    body: JSON.stringify(agentBody(true)),
  })
  t.equal(response.status, 200, 'the stream started: the first turn was admitted')
  const events = agentEvents(await response.text())
  t.same(
    events.filter((e) => e.event === 'iteration').map((e) => e.data.index),
    [1],
    'one iteration started',
  )
  t.ok(events.some((e) => e.event === 'tool.result'), 'the first turn ran its tool')
  const last = events.at(-1)
  t.equal(last?.event, 'error')
  t.match(last?.data.error, { code: 'insufficient_quota' })
  t.equal(upstream.requests.length, 1, 'one paid turn, not a second')

  const again = await postAgent(gateway.url, agentBody(false), { authorization: `Bearer ${secret('agent_stream')}` })
  t.equal(again.status, 429, 'the next run is refused at the door')
  t.match(again.json.error, { code: 'insufficient_quota' })
})
