// STYLE: the provider registry is the only list of providers. Adding one is a folder, a registry
// entry, prices and fixtures: the router's prefixes, the price table, the models listed and the
// model traits (reasoning) all come from the entries. Shown two ways: a provider that exists only
// in this file goes through the same registry code and is routed by its prefix, priced, listed
// and asked for its reasoning trait by the agent; and no file outside src/providers/ names a
// provider, a provider's model prefix or its variables (a lint, like import-boundary.test.ts).
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ReasoningAgent } from '../../src/agent/loop.ts'
import { Toolbox } from '../../src/agent/toolbox.ts'
import { loadConfig } from '../../src/config.ts'
import { Dispatch } from '../../src/core/dispatch.ts'
import { ModelRouter } from '../../src/core/router.ts'
import type { ChatRequest, ProviderAdapter, UpstreamReply } from '../../src/core/types.ts'
import { PriceBook } from '../../src/pricing/cost.ts'
import type { LocalEntry } from '../../src/providers/entry.ts'
import { createProviders, PRICES, PROVIDERS } from '../../src/providers/registry.ts'
import { translatorFor } from '../../src/providers/translators.ts'

/** An offline provider answering every chat with one streamed line and fixed usage; it keeps what it was sent. */
function acmeAdapter(seen: ChatRequest[]): ProviderAdapter {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    data: { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] },
  })
  return {
    name: 'acme',
    endpoint: undefined,
    apis: ['chat'],
    async send(_api, body): Promise<UpstreamReply> {
      seen.push(structuredClone(body) as ChatRequest)
      async function* events() {
        yield chunk({ role: 'assistant', content: 'hello from acme' })
        yield chunk({}, 'stop')
        yield { data: { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 } } }
      }
      return { events: events() }
    },
  }
}

t.test('a provider defined only by its entry is routed, priced, listed and asked for reasoning', async (t) => {
  const seen: ChatRequest[] = []
  const acme: LocalEntry = {
    name: 'acme',
    prefixes: ['acme-'],
    prices: [
      { model: 'acme-small', input: 2, output: 8, source: 'test', asOf: 'test' },
      { model: 'acme-thinker', input: 4, output: 16, source: 'test', asOf: 'test' },
    ],
    reasoning: (model) => model === 'acme-thinker',
    connect: () => acmeAdapter(seen),
  }
  const providers = await createProviders(loadConfig({}), [...PROVIDERS, acme])
  const router = new ModelRouter(providers.adapters, providers.unavailable, {}, providers.listed, providers.prefixes)
  const prices = new PriceBook(providers.prices)
  const dispatch = new Dispatch({ router, prices, translatorFor, captureContent: false, totalTimeoutMs: 10_000, maxRetries: 0 })
  const agent = new ReasoningAgent({ dispatch, router, toolbox: new Toolbox([{ tools: () => [] }], 1_000) })

  t.equal(router.resolve('acme-small').adapter.name, 'acme', 'a bare name with its prefix routes to it')
  t.equal(router.resolve('acme/anything').model, 'anything', 'and so does acme/…')
  t.equal(router.resolve('demo-chat').adapter.name, 'demo', 'the built-in prefixes still route')
  t.same(prices.lookup('acme', 'acme-small'), { input: 2, output: 8 }, 'its prices are in the price book')
  t.ok(providers.models.some((m) => m.id === 'acme/acme-thinker' && m.owned_by === 'acme'), 'its priced models are listed')
  t.equal(providers.summary.acme, 'ready')

  for (const model of ['acme-small', 'acme-thinker']) {
    const request = { model, messages: [{ role: 'user' as const, content: 'hi' }], reasoning_effort: 'high' as const }
    const summary = await agent.run(request, agent.prepare(request), new AbortController().signal, () => {})
    t.equal(summary.answer, 'hello from acme', `${model}: answered by the acme adapter`)
    const price = prices.lookup('acme', model)!
    // 1000 input and 500 output tokens at the entry's rates (USD per million).
    t.equal(summary.usage.cost_usd, (1000 * price.input + 500 * price.output) / 1e6, `${model}: priced from its entry`)
  }
  t.equal(seen.length, 2)
  t.equal(seen[0]?.reasoning_effort, undefined, 'a model without the trait gets no reasoning setting')
  t.equal(seen[1]?.reasoning_effort, 'high', 'a model with it gets the caller’s effort')
})

t.test('the built-in price table is the entries’ rows, each under its provider', async (t) => {
  const fromEntries = PROVIDERS.flatMap((entry) => entry.prices.map((row) => `${entry.name}/${row.model}`))
  t.same(PRICES.map((row) => `${row.provider}/${row.model}`), fromEntries)
  const prefixes = PROVIDERS.flatMap((entry) => entry.prefixes)
  t.equal(new Set(prefixes).size, prefixes.length, 'no two providers claim the same bare prefix')
})

// ------------------------------------------------------------------------------------- lint

const src = fileURLToPath(new URL('../../src/', import.meta.url))
const providersDir = join(src, 'providers')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return path === providersDir ? [] : sourceFiles(path)
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : []
  })
}

/**
 * Code without its comment lines (a comment may name a provider to explain something) and without
 * module specifiers (`from 'openai/resources'` is the SDK package, not the provider).
 */
function code(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join('\n')
    .replace(/(\bfrom\s*|\bimport\s*\(?\s*)(['"])[^'"]*\2/g, '$1')
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * What names a provider in code: its name as a whole string (or before a slash), a string
 * starting with one of its bare prefixes, and its environment variables.
 */
const NAMING = PROVIDERS.flatMap((entry) => [
  { what: `the provider name ${entry.name}`, pattern: new RegExp(`['"\`]${escape(entry.name)}['"\`/]`) },
  ...entry.prefixes.map((prefix) => ({ what: `the ${entry.name} prefix ${prefix}`, pattern: new RegExp(`['"\`]${escape(prefix)}`) })),
  ...(entry.env ? Object.values(entry.env).map((name) => ({ what: `${entry.name}'s ${name}`, pattern: new RegExp(`\\b${escape(name)}\\b`) })) : []),
])

/** Mentions that are not a list of providers, each with why. */
const ALLOWED: Array<{ file: string; what: string; why: string }> = [
  { file: 'telemetry/setup.ts', what: 'the provider name openai', why: 'the OpenTelemetry instrumentation of the `openai` npm package, not the provider' },
]

t.test('no file outside src/providers/ names a provider, its prefixes or its variables', async (t) => {
  const files = sourceFiles(src)
  t.ok(files.some((file) => file.endsWith('router.ts')), 'src/ was read')
  const offenders: string[] = []
  for (const file of files) {
    const name = relative(src, file)
    const text = code(readFileSync(file, 'utf8'))
    for (const { what, pattern } of NAMING) {
      const allowed = ALLOWED.some((a) => a.file === name && a.what === what)
      if (pattern.test(text) && !allowed) offenders.push(`${name}: ${what}`)
    }
  }
  t.same(offenders, [], 'derive it from the registry (src/providers/registry.ts) instead')
})

t.test('the lint sees each way of naming a provider', async (t) => {
  const hits = (line: string) => NAMING.some(({ pattern }) => pattern.test(code(line)))
  for (const line of [
    "case 'openai':",
    "{ provider: 'anthropic', prefixes: ['claude-'] }",
    '`openai/${model}`',
    "return model === 'demo-reasoner'",
    'OPENAI_API_KEY: text,',
    "httpUrl('https://api.anthropic.com')",
  ]) {
    t.ok(hits(line), line)
  }
  t.notOk(hits("const openAITools = Toolbox.asOpenAITools(tools)"), 'a word containing a name is not a mention')
  t.notOk(hits("import type { ChatCompletion } from 'openai/resources/chat/completions'"), 'the SDK package is not the provider')
  t.notOk(hits("// routes `claude-…` to 'anthropic'"), 'nor is a comment')
})
