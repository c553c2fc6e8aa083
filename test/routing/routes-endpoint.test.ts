// GET /v1/routes: the route groups with their settings and each target's weight and health, behind
// the gateway key like every other route but the probes; /v1/models lists the groups beside the
// models, and GET /v1/models/{group} retrieves one (a group name may hold a slash).
import t from 'tap'
import OpenAI from 'openai'
import { MODEL, OK_REPLY, startTargets } from './targets-setup.ts'

t.setTimeout(300_000)

const KEY = 'gw-key-routes-3f9'
const auth = { authorization: `Bearer ${KEY}` }
const stack = await startTargets(
  t,
  {
    smart: {
      targets: [{ provider: 'east', model: MODEL }, { provider: 'west', model: MODEL }],
      retries: 1,
      maxAttempts: 3,
      timeoutMs: 20_000,
      firstByteTimeoutMs: 5000,
      cache: { ttlSeconds: 60 },
    },
    'team/spread': {
      strategy: 'loadbalance',
      targets: [
        { provider: 'east', model: MODEL, weight: 3 },
        { provider: 'north', model: MODEL, weight: 1 },
        { provider: 'west', model: MODEL, contextFallback: true },
      ],
      cooldown: { failures: 5, windowMs: 10_000, cooldownMs: 2000 },
    },
  },
  { GATEWAY_API_KEYS: KEY },
)
const { gateway } = stack
const client = new OpenAI({ baseURL: gateway.baseURL, apiKey: KEY, maxRetries: 0 })

t.test('GET /v1/routes needs the gateway key', async (t) => {
  const missing = await fetch(`${gateway.url}/v1/routes`)
  t.equal(missing.status, 401)
  t.match(await missing.json(), { error: { code: 'missing_api_key' } })
  const wrong = await fetch(`${gateway.url}/v1/routes`, { headers: { authorization: 'Bearer not-the-key' } })
  t.equal(wrong.status, 401)
  const text = await wrong.text()
  t.match(JSON.parse(text), { error: { code: 'invalid_api_key' } })
  t.notMatch(text, /east|llama|spread/, 'nothing about the routes without the key')
})

t.test('GET /v1/routes: each group, its settings and each target with its weight and health', async (t) => {
  const response = await fetch(`${gateway.url}/v1/routes`, { headers: auth })
  t.equal(response.status, 200)
  const healthy = { health: 'healthy', state: 'closed', recent_failures: 0, cooldown_until: null }
  t.same(await response.json(), {
    object: 'list',
    data: [
      {
        id: 'smart',
        object: 'route',
        strategy: 'fallback',
        max_attempts: 3,
        retries: 1,
        timeout_ms: 20_000,
        first_byte_timeout_ms: 5000,
        cooldown: { failures: 3, window_ms: 60_000, cooldown_ms: 30_000 },
        cache: { ttl_seconds: 60 },
        targets: [
          { provider: 'east', model: MODEL, weight: 1, context_fallback: false, ...healthy },
          { provider: 'west', model: MODEL, weight: 1, context_fallback: false, ...healthy },
        ],
      },
      {
        id: 'team/spread',
        object: 'route',
        strategy: 'loadbalance',
        max_attempts: 3,
        retries: 0,
        timeout_ms: null,
        first_byte_timeout_ms: null,
        cooldown: { failures: 5, window_ms: 10_000, cooldown_ms: 2000 },
        cache: null,
        targets: [
          { provider: 'east', model: MODEL, weight: 3, context_fallback: false, ...healthy },
          { provider: 'north', model: MODEL, weight: 1, context_fallback: false, ...healthy },
          { provider: 'west', model: MODEL, weight: 1, context_fallback: true, ...healthy },
        ],
      },
    ],
  })
})

t.test('/v1/models lists the groups beside the models; each is retrieved by its name', async (t) => {
  const ids = []
  for await (const model of client.models.list()) ids.push(model.id)
  t.ok(ids.includes('smart') && ids.includes('team/spread'), `the groups are listed: ${ids.join(', ')}`)
  t.ok(ids.includes(`east/${MODEL}`), 'beside the configured models')
  const smart = await client.models.retrieve('smart')
  t.same(smart, { id: 'smart', object: 'model', created: 0, owned_by: `route group (fallback: east/${MODEL}, west/${MODEL})` })
  const spread = await client.models.retrieve('team/spread')
  t.equal(spread.id, 'team/spread', 'a name with a slash, sent encoded by the SDK')
  t.match(spread.owned_by, /^route group \(loadbalance: east\/llama3\.2, north\/llama3\.2, west\/llama3\.2\)$/)
})

t.test('a listed group is a model a caller can use', async (t) => {
  for (const upstream of Object.values(stack.upstreams)) upstream.setDefault(OK_REPLY)
  const completion = await client.chat.completions.create({ model: 'team/spread', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(completion.object, 'chat.completion')
  const { target } = await stack.chat('team/spread', auth)
  t.match(target, /^(east|north)\/llama3\.2$/, 'never the contextFallback target first')
})
