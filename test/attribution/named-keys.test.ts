// Issue 14, attribution: every span of a call made with a named key carries the key's name and
// team (never its secret), the caller's end user where the API names one, and /metrics counts
// requests, tokens and spend per key (a team's is the sum over its keys) exactly as the answers
// reported them, in new gateway_key_* families: the llm_* series keep their label sets. Keys of
// GATEWAY_API_KEYS are unnamed: their spans say so, and they have no per-key series. The X-ray
// pages and GET /v1/traces name the key of each trace.
import Anthropic from '@anthropic-ai/sdk'
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashOf } from '../../src/keys/hash.ts'
import { calc, openaiTurn, postAgent, type Json } from '../agent/helpers.ts'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { parsePrometheus, scrapeMetrics, select, type Exposition } from '../support/prometheus.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { isUpstreamHttpSpan } from '../telemetry/helpers.ts'

t.setTimeout(180_000)

/** A subtest's `t`. */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const ALICE = 'sk-gw-attribution-alice-7c1e9a3f5b2d'
const BOB = 'sk-gw-attribution-bob-4e8a2c6f0b9d'
const CAROL = 'sk-gw-attribution-carol-1a5e9c3b7f2d'
const UNNAMED = 'gw-attribution-unnamed-6b2f8d4a0c1e'

const KEYS = {
  keys: [
    { id: 'key_alice', name: 'alice', team: 'research', hash: hashOf(ALICE) },
    { id: 'key_bob', name: 'bob', team: 'platform', hash: hashOf(BOB) },
    // No team: its series has no key_team label.
    { id: 'key_carol', name: 'carol', hash: hashOf(CAROL) },
  ],
}

const dir = mkdtempSync(join(tmpdir(), 'gateway-attribution-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(keysFile, JSON.stringify(KEYS))
const configFile = join(dir, 'gateway.json')
// Every model cached, so a repeated call is a hit: a request at $0.
writeFileSync(configFile, JSON.stringify({ cache: { ttlSeconds: 600 } }))

const receiver = await startOtlpReceiver()
const upstream = await startUpstream({ seed: 14 })
const gateway = await startGateway({
  timeoutMs: 60_000,
  env: {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    GATEWAY_KEYS_FILE: keysFile,
    GATEWAY_API_KEYS: UNNAMED,
    GATEWAY_CONFIG: configFile,
    ...providerEnv(upstream),
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
  rmSync(dir, { recursive: true, force: true })
})

const WAIT_MS = 20_000

/** What each key's answers reported: the figures /metrics must show. */
interface Ledger {
  requests: number
  input: number
  output: number
  spend: number
}
const ledger = new Map<string, Ledger>()
function note(key: string, usage: { input: number; output: number; cost: number | undefined }, requests = 1): void {
  const entry = ledger.get(key) ?? { requests: 0, input: 0, output: 0, spend: 0 }
  entry.requests += requests
  entry.input += usage.input
  entry.output += usage.output
  entry.spend += usage.cost ?? 0
  ledger.set(key, entry)
}

type Usage = Record<string, unknown>
const openaiUsage = (usage: Usage | null | undefined) => ({
  input: Number(usage?.prompt_tokens ?? usage?.input_tokens),
  output: Number(usage?.completion_tokens ?? usage?.output_tokens),
  cost: usage?.cost_usd as number | undefined,
})

/** Waits until the trace's SERVER span and `count` spans in all have arrived. */
async function traceSpans(traceId: string, count: number): Promise<ReceivedSpan[]> {
  await receiver.waitFor(() => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId)
    return spans.length >= count && spans.some((s) => s.kind === 'SERVER')
  }, WAIT_MS)
  return receiver.spans.filter((s) => s.traceId === traceId)
}

/** The spans of a trace that name the caller: all but the upstream HTTP client spans. */
const gatewaySpans = (spans: ReceivedSpan[]) => spans.filter((s) => !isUpstreamHttpSpan(s))

function namesKey(t: Test, spans: ReceivedSpan[], key: { id: string; name: string; team?: string }, what: string): void {
  t.ok(spans.length > 0, `${what}: spans to look at`)
  const wrong = spans.filter(
    (s) =>
      s.attributes['gateway.key.kind'] !== 'named' ||
      s.attributes['gateway.key.id'] !== key.id ||
      s.attributes['gateway.key.name'] !== key.name ||
      s.attributes['gateway.key.team'] !== key.team,
  )
  t.same(wrong.map((s) => s.name), [], `${what}: every span (${spans.map((s) => s.name).join(', ')}) names ${key.name} of ${key.team ?? 'no team'}`)
}

const client = (key: string) => gateway.client({ apiKey: key, maxRetries: 0 })
const ask = (content: string) => [{ role: 'user' as const, content }]
const ALICE_KEY = { id: 'key_alice', name: 'alice', team: 'research' }
const BOB_KEY = { id: 'key_bob', name: 'bob', team: 'platform' }
const CAROL_KEY = { id: 'key_carol', name: 'carol' }

/**
 * One answered JSON call by `key`: its usage noted, and its spans checked for the key and, when
 * given, the end user on llm.request. Resolves with its trace id.
 */
async function checkCall(
  t: Test,
  key: { id: string; name: string; team?: string },
  answer: { data: { usage?: unknown }; response: Response },
  what: string,
  userId?: string,
): Promise<string> {
  note(key.name, openaiUsage(answer.data.usage as Usage))
  const traceId = answer.response.headers.get('x-trace-id')!
  const spans = await traceSpans(traceId, 4)
  namesKey(t, gatewaySpans(spans), key, what)
  if (userId !== undefined) t.equal(spans.find((s) => s.name === 'llm.request')?.attributes['user.id'], userId, `${what}: the end user on llm.request`)
  return traceId
}

/** Trace ids by what made them, for the trace pages' test. */
const traces: Record<string, string> = {}

t.test('a chat call: the server, llm.request and provider spans name the key and team; user.id is OpenAI `user`', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const answer = await client(ALICE)
    .chat.completions.create({ model: 'gpt-4o-mini', messages: ask('a joke, please'), user: 'end-user-42' })
    .withResponse()
  traces.chat = await checkCall(t, ALICE_KEY, answer, 'chat', 'end-user-42')
  const spans = receiver.spans.filter((s) => s.traceId === traces.chat)
  t.same(spans.map((s) => s.name).sort(), ['POST', 'POST /v1/chat/completions', 'llm.openai.chat', 'llm.request'])
})

t.test('a streamed chat call names the key on every span', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-stream-include-usage' })
  const { data: stream, response } = await client(ALICE)
    .chat.completions.create({ model: 'gpt-4o-mini', messages: ask('10 + 5?'), stream: true, stream_options: { include_usage: true } })
    .withResponse()
  let usage: Usage | undefined
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage as unknown as Usage
  note('alice', openaiUsage(usage))
  const spans = await traceSpans(response.headers.get('x-trace-id')!, 4)
  t.ok(spans.some((s) => s.name === 'llm.openai.stream'), 'the provider span of a stream')
  namesKey(t, gatewaySpans(spans), ALICE_KEY, 'stream')
})

t.test('a /v1/messages call (Anthropic SDK): the key on every span, metadata.user_id as user.id', async (t) => {
  upstream.enqueue({ fixture: 'anthropic-messages-text-nonstream' })
  const anthropic = new Anthropic({ apiKey: BOB, baseURL: gateway.url, maxRetries: 0 })
  const answer = await anthropic.messages
    .create({ model: 'claude-3-5-sonnet-20240620', max_tokens: 64, messages: ask('hello there'), metadata: { user_id: 'claude-user-7' } })
    .withResponse()
  await checkCall(t, BOB_KEY, answer, 'messages', 'claude-user-7')
})

t.test('a /v1/responses call: the key on every span, OpenAI `user` as user.id', async (t) => {
  upstream.enqueue({ fixture: 'openai-responses-text-nonstream' })
  const answer = await client(BOB).responses.create({ model: 'gpt-4o-mini', input: 'one word for hello', user: 'resp-user-3' }).withResponse()
  await checkCall(t, BOB_KEY, answer, 'responses', 'resp-user-3')
})

t.test('an agent run: the run, iteration, tool, llm.request and provider spans name the key', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [calc('call_a1', '15*23')], usage: { input: 110, output: 30 } }),
    openaiTurn({ content: 'The answer is 345.', usage: { input: 170, output: 9 } }),
  )
  const { status, headers, json } = await postAgent(
    gateway.url,
    { model: 'gpt-4o-mini', messages: ask('What is 15 * 23?'), tools: ['calculator'] },
    { authorization: `Bearer ${CAROL}` },
  )
  t.equal(status, 200, JSON.stringify(json))
  const iterations = (json.iterations as Json[]).length
  t.equal(iterations, 2)
  // The metrics count each model call of the run, as llm_requests_total does.
  note('carol', openaiUsage(json.usage as Usage), iterations)
  traces.agent = headers.get('x-trace-id')!
  // server, run, 2 × (iteration, llm.request, provider, POST), 1 tool
  const spans = await traceSpans(traces.agent, 1 + 1 + 2 * 4 + 1)
  const ours = gatewaySpans(spans)
  for (const name of ['llm.reasoning_agent.stream', 'reasoning.thinking.iteration_1', 'reasoning.tool.calculator', 'llm.request', 'llm.openai.stream']) {
    t.ok(ours.some((s) => s.name === name), `${name} is among them`)
  }
  namesKey(t, ours, CAROL_KEY, 'agent run')
})

t.test('a cache hit is a request at $0 for the key', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const body = { model: 'gpt-4o-mini', messages: ask('cache me, carol') }
  await checkCall(t, CAROL_KEY, await client(CAROL).chat.completions.create(body).withResponse(), 'cache miss')
  const hit = await client(CAROL).chat.completions.create(body).withResponse()
  t.equal(hit.response.headers.get('x-gateway-cache'), 'hit')
  note('carol', { input: 0, output: 0, cost: 0 })
  const spans = await traceSpans(hit.response.headers.get('x-trace-id')!, 2)
  namesKey(t, gatewaySpans(spans), CAROL_KEY, 'cache hit')
})

t.test('an unnamed key (GATEWAY_API_KEYS): its spans say unnamed and name no key', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-nonstream' })
  const { response } = await client(UNNAMED).chat.completions.create({ model: 'gpt-4o-mini', messages: ask('who am I?') }).withResponse()
  const spans = gatewaySpans(await traceSpans(response.headers.get('x-trace-id')!, 4))
  t.same([...new Set(spans.map((s) => s.attributes['gateway.key.kind']))], ['unnamed'])
  t.ok(spans.every((s) => !('gateway.key.name' in s.attributes) && !('gateway.key.team' in s.attributes) && !('gateway.key.id' in s.attributes)), 'no name, team or id')
})

const sum = (exposition: Exposition, name: string, labels: Record<string, string> = {}) =>
  select(exposition, name, labels).reduce((n, s) => n + s.value, 0)
const close = (a: number, b: number) => Math.abs(a - b) < 1e-9

t.test('/metrics: requests, tokens and spend per key and per team, as the answers reported them', async (t) => {
  const exposition = parsePrometheus(await scrapeMetrics(gateway.url, ALICE))
  t.equal(exposition.types.get('gateway_key_requests_total'), 'counter')
  t.equal(exposition.types.get('gateway_key_tokens_total'), 'counter')
  t.equal(exposition.types.get('gateway_key_spend_usd'), 'gauge', 'an UpDownCounter that only rises, as llm_cost_total_usd')

  const named = [...new Set(select(exposition, 'gateway_key_requests_total').map((s) => s.labels.key_name))].sort()
  t.same(named, ['alice', 'bob', 'carol'], 'one series per named key; none for the unnamed key')
  const labelSets = select(exposition, 'gateway_key_requests_total').map((s) => s.labels)
  t.same(
    labelSets.sort((a, b) => a.key_name!.localeCompare(b.key_name!)),
    [{ key_name: 'alice', key_team: 'research' }, { key_name: 'bob', key_team: 'platform' }, { key_name: 'carol' }],
    'labels key_name and key_team (none for a key without a team)',
  )
  for (const [name, want] of ledger) {
    const key = { key_name: name }
    t.equal(sum(exposition, 'gateway_key_requests_total', key), want.requests, `${name}: ${want.requests} requests`)
    t.equal(sum(exposition, 'gateway_key_tokens_total', { ...key, type: 'input' }), want.input, `${name}: ${want.input} input tokens`)
    t.equal(sum(exposition, 'gateway_key_tokens_total', { ...key, type: 'output' }), want.output, `${name}: ${want.output} output tokens`)
    t.ok(want.spend > 0, `${name}: the answers reported a cost`)
    t.ok(close(sum(exposition, 'gateway_key_spend_usd', key), want.spend), `${name}: $${want.spend} spent`)
  }
  // A team's figures: sum by (key_team).
  t.ok(close(sum(exposition, 'gateway_key_spend_usd', { key_team: 'research' }), ledger.get('alice')!.spend), 'team research spent what alice spent')
  t.equal(sum(exposition, 'gateway_key_requests_total', { key_team: 'platform' }), ledger.get('bob')!.requests, 'team platform: bob\'s requests')
  // Every model call is in llm_requests_total; the per-key ones are all but the unnamed key's one.
  const keyed = [...ledger.values()].reduce((n, e) => n + e.requests, 0)
  t.equal(sum(exposition, 'llm_requests_total'), keyed + 1, 'llm_requests_total counts the named keys\' calls and the unnamed one')
})

t.test('the llm_* and gen_ai_* series keep their label sets: no key label on them', async (t) => {
  const exposition = parsePrometheus(await scrapeMetrics(gateway.url, ALICE))
  const labelNames = (prefix: string) =>
    new Set(exposition.samples.filter((s) => s.name.startsWith(prefix)).flatMap((s) => Object.keys(s.labels)))
  t.same([...labelNames('llm_')].sort(), ['le', 'llm_model', 'llm_provider', 'reasoning_effort'], 'the guide\'s labels, and only those')
  t.notOk([...labelNames('gen_ai_')].some((label) => label.startsWith('key_')), 'gen_ai_* have no key label')
  for (const family of ['llm_requests_total', 'llm_tokens_input_total', 'llm_tokens_output_total', 'llm_cost_total_usd']) {
    const sets = new Set(select(exposition, family).map((s) => Object.keys(s.labels).sort().join(',')))
    t.same([...sets], ['llm_model,llm_provider'], `${family}: {llm_model, llm_provider}`)
  }
})

t.test('GET /v1/traces, /traces and the X-ray name the key and team of each trace', async (t) => {
  const headers = { authorization: `Bearer ${ALICE}` }
  const list = (await (await fetch(`${gateway.url}/v1/traces`, { headers })).json()) as { data: Json[] }
  const chat = list.data.find((s) => s.trace_id === traces.chat)
  t.match(chat, { key_name: 'alice', key_team: 'research', user_id: 'end-user-42' }, 'the chat trace\'s summary')
  t.match(list.data.find((s) => s.trace_id === traces.agent), { key_name: 'carol', key_team: null }, 'the agent run\'s')

  const page = await (await fetch(`${gateway.url}/traces`, { headers })).text()
  const row = new RegExp(`<tr class="[^"]*" data-trace-id="${traces.chat}">[\\s\\S]*?</tr>`).exec(page)?.[0] ?? ''
  t.match(row, /<td class="key">alice <span class="note">research<\/span><\/td>/, 'the list shows the key and its team')
  t.match(page, /<th>key<\/th>/)

  const xray = await (await fetch(`${gateway.url}/traces/${traces.chat}`, { headers })).text()
  t.match(xray, /<dt>key<\/dt><dd class="key">alice <span class="note">\(team research\)<\/span><\/dd>/, 'the X-ray names the key')
  t.match(xray, /<dt>user<\/dt><dd class="user">end-user-42<\/dd>/, 'and the end user')
  const doc = (await (await fetch(`${gateway.url}/v1/traces/${traces.chat}`, { headers })).json()) as { summary: Json }
  t.match(doc.summary, { key_name: 'alice', key_team: 'research' })
})

t.test('the request log line names the key and team', async (t) => {
  const lines = gateway.logs().filter((l) => l.msg === 'request' && l.url === '/v1/chat/completions')
  t.ok(lines.some((l) => l.key_name === 'alice' && l.key_team === 'research'), 'alice\'s chat')
  t.ok(lines.some((l) => l.key_name === undefined && l.status === 200), 'the unnamed key\'s: no name')
})
