// SPEC §1 routing and §3 providers config: an OpenAI-compatible provider, an alias and a price
// override from a GATEWAY_CONFIG file; and the built-in routing by prefix.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../support/gateway.ts'
import { openaiStreamChunks, providerEnv, startUpstream } from '../support/upstream.ts'
import { expectError } from './error-shape.ts'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(120_000)

const upstream = await startUpstream()
const dir = mkdtempSync(join(tmpdir(), 'gateway-providers-'))
const configPath = join(dir, 'gateway.json')
writeFileSync(
  configPath,
  JSON.stringify({
    providers: { local: { baseURL: upstream.openaiBaseURL, apiKeyEnv: 'LOCAL_KEY', models: ['llama3.2'] } },
    aliases: { fast: 'local/llama3.2' },
    prices: { 'local/llama3.2': { input: 1, output: 2 } },
  }),
)
const LOCAL_KEY = 'local-key-7f3a9c'
const gateway = await startGateway({
  timeoutMs: 30_000,
  env: {
    GATEWAY_CONFIG: configPath,
    LOCAL_KEY,
    // The keys are asserted on below, as the Authorization header each provider is sent.
    ...providerEnv(upstream, { openai: 'sk-test-openai', anthropic: 'sk-ant-test' }),
  },
})
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})
t.beforeEach(() => upstream.reset())

const messages = [{ role: 'user', content: 'Tell me a joke' }]

async function chat(model: string, extra: Record<string, unknown> = {}) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages, ...extra }),
  })
  return response
}

type Completion = { model: string; usage: { prompt_tokens: number; completion_tokens: number; cost_usd?: number } }

// The fixture's usage: 15 prompt tokens, 19 completion tokens; at $1 / $2 per million tokens.
const EXPECTED_COST = (15 * 1 + 19 * 2) / 1e6

for (const model of ['local/llama3.2', 'fast']) {
  t.test(`${model} goes to the configured provider with its own key`, async (t) => {
    upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
    const response = await chat(model)
    t.equal(response.status, 200)
    const body = (await response.json()) as Completion
    const [request] = upstream.requests
    t.equal(request?.path, '/v1/chat/completions', 'at the provider base URL')
    t.equal((request?.body as { model?: string }).model, 'llama3.2', 'the upstream sees the model id without prefix or alias')
    t.equal(request?.headers.authorization, `Bearer ${LOCAL_KEY}`, 'with the key from LOCAL_KEY')
    t.ok(body.usage.cost_usd !== undefined, 'priced by the override')
    t.ok(Math.abs((body.usage.cost_usd ?? 0) - EXPECTED_COST) < 1e-12, `cost_usd ${body.usage.cost_usd} = ${EXPECTED_COST}`)
  })
}

t.test('the price override also prices a stream of the configured provider', async (t) => {
  upstream.setDefault({ fixture: 'openai-chat-text-stream-include-usage' })
  const response = await chat('fast', { stream: true, stream_options: { include_usage: true } })
  const chunks = openaiStreamChunks(await response.text())
  const usage = chunks.at(-1)?.usage as (Completion['usage'] | undefined)
  // This fixture: 23 prompt tokens, 8 completion tokens.
  t.ok(Math.abs((usage?.cost_usd ?? 0) - (23 * 1 + 8 * 2) / 1e6) < 1e-12, `cost_usd ${usage?.cost_usd}`)
  t.equal((upstream.requests[0]?.body as { model?: string }).model, 'llama3.2')
})

t.test('GET /v1/models lists the configured model and the alias', async (t) => {
  const models = await gateway.client().models.list()
  const ids = models.data.map((m) => m.id)
  t.ok(ids.includes('local/llama3.2'), 'local/llama3.2 listed')
  t.ok(ids.includes('fast'), 'alias fast listed')
  t.match(models.data.find((m) => m.id === 'fast')?.owned_by, /local\/llama3\.2/, 'the alias says what it stands for')
  t.equal(upstream.requests.length, 0, 'listing asks no upstream')
})

for (const [model, upstreamModel] of [
  ['gpt-4o-mini', 'gpt-4o-mini'],
  ['openai/gpt-4o-mini', 'gpt-4o-mini'],
  ['o3-mini', 'o3-mini'],
  ['chatgpt-4o-latest', 'chatgpt-4o-latest'],
] as const) {
  t.test(`${model} goes to OpenAI`, async (t) => {
    upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
    const response = await chat(model)
    t.equal(response.status, 200)
    const [request] = upstream.requests
    t.equal(request?.path, '/v1/chat/completions')
    t.equal((request?.body as { model?: string }).model, upstreamModel)
    t.equal(request?.headers.authorization, 'Bearer sk-test-openai', "with OpenAI's key, not the local one")
    const body = (await response.json()) as Completion
    t.ok(typeof body.usage.cost_usd === 'number' || model === 'o3-mini' || model === 'chatgpt-4o-latest', 'a known OpenAI model is priced')
  })
}

for (const model of ['claude-3-5-haiku-20241022', 'anthropic/claude-3-5-haiku-20241022']) {
  t.test(`${model} goes to Anthropic`, async (t) => {
    upstream.setDefault({ fixture: 'anthropic-messages-text-nonstream' })
    const response = await chat(model)
    t.equal(response.status, 200)
    const [request] = upstream.requests
    t.equal(request?.path, '/v1/messages', "Anthropic's Messages API")
    t.equal((request?.body as { model?: string }).model, 'claude-3-5-haiku-20241022')
    // The Anthropic SDK sends the key as x-api-key or as a bearer token, depending on its version.
    const key = request?.headers['x-api-key'] ?? request?.headers.authorization?.replace(/^Bearer /, '')
    t.equal(key, 'sk-ant-test', "with Anthropic's key")
    const body = (await response.json()) as { object?: string }
    t.equal(body.object, 'chat.completion', 'answered in OpenAI shape')
  })
}

t.test('an unknown provider prefix is a 404 model_not_found listing the configured provider', async (t) => {
  const body = await expectError(t, await chat('ollama/llama3.2'), {
    status: 404,
    type: 'invalid_request_error',
    code: 'model_not_found',
    param: 'model',
  })
  t.match(body.error.message, /local\//, 'names the configured provider')
  t.match(body.error.message, /fast/, 'and the alias')
  t.equal(upstream.requests.length, 0)
})

t.test('the local key never leaks into answers or logs', async (t) => {
  upstream.setDefault({ status: 401, json: { error: { message: `Incorrect API key provided: ${LOCAL_KEY}`, type: 'invalid_request_error' } } })
  const response = await chat('fast')
  const text = await response.text()
  t.equal(response.status, 502, 'the upstream refusing our key is our failure, not the caller’s')
  t.notMatch(text, new RegExp(LOCAL_KEY), 'scrubbed from the passed-on message')
  t.notMatch(gateway.lines.join('\n'), new RegExp(LOCAL_KEY), 'and absent from the logs')
})
