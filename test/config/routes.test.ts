// GATEWAY_CONFIG `routes` (route groups) and provider accounts of a built-in `type`: every bad
// group is refused at start-up with one line naming where in the file, a target on a provider
// that is off names the variable to set, and a second Anthropic account answers through the
// Anthropic adapter with its own key and base URL, priced with Anthropic's prices.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { failedStart, startGateway } from '../support/gateway.ts'
import { startUpstream } from '../support/upstream.ts'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(300_000)

const dir = mkdtempSync(join(tmpdir(), 'gateway-routes-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

function configFile(json: unknown): string {
  const path = join(dir, `gateway-${files++}.json`)
  writeFileSync(path, JSON.stringify(json))
  return path
}

function problems(json: unknown): string[] {
  try {
    loadConfig({ GATEWAY_CONFIG: configFile(json) })
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

const ok = { provider: 'openai', model: 'gpt-4o-mini' }
const groupOf = (group: Record<string, unknown>) => ({ routes: { smart: { targets: [ok], ...group } } })

/** Each bad file, and its one line: the path in the file and what is allowed. */
const BAD: Array<[string, unknown, RegExp]> = [
  ['an unknown provider', groupOf({ targets: [{ provider: 'nope', model: 'x' }] }), /routes\.smart\.targets\.0\.provider names no provider: "nope" \(known: openai, anthropic, demo\)/],
  ['no target', groupOf({ targets: [] }), /routes\.smart\.targets must list at least one target$/],
  ['targets not a list', groupOf({ targets: 'openai/gpt-4o-mini' }), /routes\.smart\.targets must be an array of \{provider, model\}/],
  ['a weight of 0', groupOf({ strategy: 'loadbalance', targets: [{ ...ok, weight: 0 }] }), /routes\.smart\.targets\.0\.weight must be a number > 0/],
  ['a negative weight', groupOf({ targets: [ok, { ...ok, weight: -2 }] }), /routes\.smart\.targets\.1\.weight must be a number > 0/],
  ['only contextFallback targets', groupOf({ targets: [{ ...ok, contextFallback: true }] }), /routes\.smart\.targets must hold a target without contextFallback/],
  ['a group that is also an alias', { aliases: { smart: 'openai/gpt-4o' }, routes: { smart: { targets: [ok] } } }, /routes\.smart is also an alias/],
  ['an unknown strategy', groupOf({ strategy: 'random' }), /routes\.smart\.strategy must be fallback or loadbalance/],
  ['no failures', groupOf({ cooldown: { failures: 0 } }), /routes\.smart\.cooldown\.failures must be a whole number from 1 to 1000/],
  ['a negative window', groupOf({ cooldown: { windowMs: -5 } }), /routes\.smart\.cooldown\.windowMs must be a whole number from 1 to 86400000/],
  ['a cooldown in words', groupOf({ cooldown: { cooldownMs: '30s' } }), /routes\.smart\.cooldown\.cooldownMs must be a whole number from 1 to 86400000/],
  ['a misspelt cooldown setting', groupOf({ cooldown: { failure: 2 } }), /routes\.smart\.cooldown has unknown key "failure" \(known: failures, windowMs, cooldownMs\)/],
  ['cache: true', groupOf({ cache: true }), /routes\.smart\.cache must be false or \{"ttlSeconds": n\}/],
  ['cache without its ttl', groupOf({ cache: {} }), /routes\.smart\.cache must be false or \{"ttlSeconds": n\}/],
  ['a cache ttl of 0', groupOf({ cache: { ttlSeconds: 0 } }), /routes\.smart\.cache\.ttlSeconds must be a whole number from 1 to 31536000/],
  ['a misspelt group setting', groupOf({ stratgy: 'loadbalance' }), /routes\.smart has unknown key "stratgy" \(known: strategy, targets,/],
  ['a misspelt target setting', groupOf({ targets: [{ ...ok, wieght: 3 }] }), /routes\.smart\.targets\.0 has unknown key "wieght" \(known: provider, model, weight, contextFallback\)/],
  ['a group that is not an object', { routes: { smart: null } }, /routes\.smart must be an object \{strategy\?, targets, …\}/],
  ['a name with a space', { routes: { 'my group': { targets: [ok] } } }, /route group name "my group" must be a model name/],
  ['negative retries', groupOf({ retries: -1 }), /routes\.smart\.retries must be a whole number from 0 to 10/],
  ['zero attempts', groupOf({ maxAttempts: 0 }), /routes\.smart\.maxAttempts must be a whole number from 1 to 50/],
  ['a compatible provider without baseURL', { providers: { local: { models: ['llama3.2'] } } }, /providers\.local\.baseURL is required \(an http\(s\) URL\)/],
  ['an unknown provider type', { providers: { local: { type: 'gemini', baseURL: 'http://127.0.0.1:9/v1' } } }, /providers\.local\.type must be one of openai-compatible, openai, anthropic/],
  ['a global cache with a misspelt key', { cache: { ttl: 60 } }, /cache has unknown key "ttl" \(known: ttlSeconds, maxBytes, maxEntryBytes\)/],
]

for (const [what, json, expected] of BAD) {
  t.test(`refused: ${what}, in one line naming where`, async (t) => {
    const found = problems(json)
    t.equal(found.length, 1, found.join('\n'))
    t.match(found[0], /^GATEWAY_CONFIG \(.*\.json\): /)
    t.match(found[0], expected)
  })
}

t.test('a group written with its defaults only is read with them', async (t) => {
  const config = loadConfig({ GATEWAY_CONFIG: configFile({ routes: { smart: { targets: [ok] } } }) })
  t.same(config.routes.smart, {
    strategy: 'fallback',
    targets: [{ provider: 'openai', model: 'gpt-4o-mini', weight: 1, contextFallback: false }],
    retries: 0,
    cooldown: { failures: 3, windowMs: 60_000, cooldownMs: 30_000 },
  })
})

t.test('an account of a built-in type needs no baseURL: it gets the built-in default', async (t) => {
  const config = loadConfig({ GATEWAY_CONFIG: configFile({ providers: { claude2: { type: 'anthropic', apiKeyEnv: 'CLAUDE2_KEY' } } }) })
  t.equal(config.providers.claude2?.type, 'anthropic')
  t.match(config.providers.claude2?.baseURL, /^https:\/\/api\.anthropic\.com/)
})

t.test('start-up: every bad group named at once, one line each, and the gateway never listens', async (t) => {
  const path = configFile({
    aliases: { fast: 'openai/gpt-4o-mini' },
    routes: {
      fast: { targets: [ok] },
      empty: { targets: [] },
      heavy: { strategy: 'loadbalance', targets: [{ ...ok, weight: 0 }] },
      long: { targets: [{ ...ok, contextFallback: true }] },
      cached: { targets: [ok], cache: 'yes' },
      cool: { targets: [ok], cooldown: { failures: 3, windowMs: 0, cooldownMs: 1000 } },
      ghost: { targets: [{ provider: 'ghost', model: 'x' }] },
    },
  })
  const { code, stdout, stderr } = await failedStart({ env: { GATEWAY_CONFIG: path, OPENAI_API_KEY: 'sk-test' } })
  t.equal(code, 1)
  const lines = stderr.split('\n').filter((line) => line.startsWith('sik-llms-gateway: configuration error: '))
  for (const expected of [
    /routes\.fast is also an alias/,
    /routes\.empty\.targets must list at least one target/,
    /routes\.heavy\.targets\.0\.weight must be a number > 0/,
    /routes\.long\.targets must hold a target without contextFallback/,
    /routes\.cached\.cache must be false or/,
    /routes\.cool\.cooldown\.windowMs must be a whole number/,
    /routes\.ghost\.targets\.0\.provider names no provider: "ghost"/,
  ]) {
    t.ok(lines.some((line) => expected.test(line)), String(expected))
  }
  t.equal(lines.length, 7, 'one line per problem')
  t.notMatch(stdout + stderr, /"msg":"listening"/)
})

t.test('start-up: a target on a provider that is off names the variable to set, each one', async (t) => {
  const path = configFile({
    providers: { claude2: { type: 'anthropic', apiKeyEnv: 'CLAUDE2_KEY' } },
    routes: {
      smart: { targets: [ok, { provider: 'claude2', model: 'claude-3-5-haiku-20241022' }] },
      demoish: { targets: [{ provider: 'demo', model: 'demo-chat' }, { provider: 'demo', model: 'gpt-4o' }] },
    },
  })
  const { code, stdout, stderr } = await failedStart({ env: { GATEWAY_CONFIG: path } })
  t.equal(code, 1)
  const lines = stderr.split('\n').filter((line) => line.startsWith('sik-llms-gateway: configuration error: '))
  t.match(lines, [
    /GATEWAY_CONFIG routes\.smart\.targets\.0: provider openai is not available \(set OPENAI_API_KEY to use it\)/,
    /GATEWAY_CONFIG routes\.smart\.targets\.1: provider claude2 is not available \(set CLAUDE2_KEY to use it\)/,
    /GATEWAY_CONFIG routes\.demoish\.targets\.1: provider demo serves only demo-chat, demo-reasoner, not gpt-4o/,
  ])
  t.equal(lines.length, 3, 'one line per problem')
  t.notMatch(stdout + stderr, /"msg":"listening"/)
})

t.test('a second Anthropic account answers through the Anthropic adapter with its own key and base URL, at Anthropic prices', async (t) => {
  const upstream = await startUpstream()
  const path = configFile({
    providers: { claude2: { type: 'anthropic', apiKeyEnv: 'CLAUDE2_KEY', baseURL: upstream.anthropicBaseURL } },
    routes: { smart: { targets: [{ provider: 'claude2', model: 'claude-3-5-haiku-20241022' }] } },
  })
  // The built-in accounts point nowhere: only claude2 may be reached.
  const gateway = await startGateway({
    timeoutMs: 60_000,
    env: { GATEWAY_CONFIG: path, CLAUDE2_KEY: 'sk-ant-second-7c1e', ANTHROPIC_API_KEY: 'sk-ant-first', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' },
  })
  t.teardown(async () => {
    await gateway.stop()
    await upstream.close()
  })
  upstream.setDefault({ fixture: 'anthropic-messages-text-nonstream' })
  // The recording's usage: 17 input and 137 output tokens; claude-3-5-haiku costs $0.80 / $4 per million.
  const expectedCost = (17 * 0.8 + 137 * 4) / 1e6
  for (const model of ['claude2/claude-3-5-haiku-20241022', 'smart']) {
    upstream.reset()
    upstream.setDefault({ fixture: 'anthropic-messages-text-nonstream' })
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Tell me a joke' }] }),
    })
    t.equal(response.status, 200, model)
    t.equal(response.headers.get('x-gateway-target'), 'claude2/claude-3-5-haiku-20241022')
    const [request] = upstream.requests
    t.equal(request?.path, '/v1/messages', "Anthropic's Messages API, at the account's base URL")
    t.equal((request?.body as { model?: string }).model, 'claude-3-5-haiku-20241022')
    const key = request?.headers['x-api-key'] ?? request?.headers.authorization?.replace(/^Bearer /, '')
    t.equal(key, 'sk-ant-second-7c1e', "the account's own key")
    const body = (await response.json()) as { object: string; usage: { cost_usd?: number } }
    t.equal(body.object, 'chat.completion')
    t.ok(Math.abs((body.usage.cost_usd ?? NaN) - expectedCost) < 1e-12, `priced with Anthropic's prices: ${body.usage.cost_usd} ≈ ${expectedCost}`)
  }
})
