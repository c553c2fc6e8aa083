// The only list of providers. A built-in provider is one entry here; an OpenAI-compatible one
// from the providers file is a call to the same factory as OpenAI itself.
import type { Config } from '../config.ts'
import type { ProviderAdapter } from '../core/types.ts'
import type { UnavailableProvider } from '../core/router.ts'
import type { ModelEntry } from '../routes/models.ts'
import { PRICES } from '../pricing/prices.ts'
import { anthropicProvider } from './anthropic/adapter.ts'
import { DEMO_MODELS, demoProvider } from './demo/adapter.ts'
import { openAICompatible } from './openai/adapter.ts'
import { createUpstreamClientOptions } from './upstream-client.ts'

export interface Providers {
  adapters: ProviderAdapter[]
  unavailable: UnavailableProvider[]
  models: ModelEntry[]
  summary: Record<string, string>
  /** The configured models as `provider/model` (a compatible provider's `models`, the demo's). */
  listed: Set<string>
}

const model = (id: string, ownedBy: string): ModelEntry => ({ id, object: 'model', created: 0, owned_by: ownedBy })

export function createProviders(config: Config): Providers {
  const client = createUpstreamClientOptions({
    firstByteTimeoutMs: config.upstream.firstByteTimeoutMs,
    secrets: config.secrets,
  })
  const out: Providers = { adapters: [], unavailable: [], models: [], summary: {}, listed: new Set() }
  const tableModels = (provider: string) =>
    PRICES.filter((row) => row.provider === provider).map((row) => model(`${provider}/${row.model}`, provider))

  if (config.openai.apiKey) {
    out.adapters.push(openAICompatible({ ...client, name: 'openai', baseURL: config.openai.baseURL, apiKey: config.openai.apiKey, apis: ['chat', 'responses', 'embeddings'] }))
    out.models.push(...tableModels('openai'))
    out.summary.openai = `ready (${config.openai.baseURL})`
  } else {
    out.unavailable.push({ name: 'openai', reason: 'set OPENAI_API_KEY to use it' })
    out.summary.openai = 'off: OPENAI_API_KEY is not set'
  }

  if (config.anthropic.apiKey) {
    out.adapters.push(anthropicProvider({ ...client, baseURL: config.anthropic.baseURL, apiKey: config.anthropic.apiKey }))
    out.models.push(...tableModels('anthropic'))
    out.summary.anthropic = `ready (${config.anthropic.baseURL})`
  } else {
    out.unavailable.push({ name: 'anthropic', reason: 'set ANTHROPIC_API_KEY to use it' })
    out.summary.anthropic = 'off: ANTHROPIC_API_KEY is not set'
  }

  for (const [name, settings] of Object.entries(config.providers)) {
    const apiKey = settings.apiKeyEnv ? process.env[settings.apiKeyEnv]?.trim() || undefined : undefined
    out.adapters.push(openAICompatible({ ...client, name, baseURL: settings.baseURL, apiKey }))
    for (const id of settings.models) {
      out.models.push(model(`${name}/${id}`, name))
      out.listed.add(`${name}/${id}`)
    }
    out.summary[name] = `ready, OpenAI-compatible (${settings.baseURL})`
  }

  out.adapters.push(demoProvider(config.demo))
  for (const id of DEMO_MODELS) {
    out.models.push(model(id, 'demo (offline demo provider, no model is called)'))
    out.listed.add(`demo/${id}`)
  }
  out.summary.demo = 'ready (offline demo provider: deterministic answers, no model is called)'
  return out
}
