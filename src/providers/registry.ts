// The only list of providers. A built-in provider is a folder with an entry (`provider.ts`: name,
// bare prefixes, prices, traits, variables, adapter) named once here; an OpenAI-compatible one
// from the providers file is a call to the same factory as OpenAI itself. The router's prefixes,
// the price table, the models listed and config.ts's provider variables are derived from these
// entries. Importing this module loads no adapter (config.ts reads it before telemetry starts);
// createProviders loads them.
import type { Config } from '../config.ts'
import type { ProviderAdapter } from '../core/types.ts'
import type { BarePrefixes, UnavailableProvider } from '../core/router.ts'
import type { PriceRow } from '../pricing/prices.ts'
import type { ModelEntry } from '../routes/models.ts'
import { anthropic } from './anthropic/provider.ts'
import { demo } from './demo/provider.ts'
import type { ProviderEntry, UpstreamEntry } from './entry.ts'
import { openai } from './openai/provider.ts'

export const PROVIDERS: readonly ProviderEntry[] = [openai, anthropic, demo]

export interface Providers {
  adapters: ProviderAdapter[]
  unavailable: UnavailableProvider[]
  models: ModelEntry[]
  summary: Record<string, string>
  /** The configured models as `provider/model` (a compatible provider's `models`, the demo's). */
  listed: Set<string>
  /** Bare model-name prefixes, in the registry's order, for the router. */
  prefixes: BarePrefixes[]
  /** Every provider's list prices, for the price book. */
  prices: PriceRow[]
}

/** The entries' price rows joined into one table, each marked with its provider. */
export function priceTable(entries: readonly ProviderEntry[] = PROVIDERS): PriceRow[] {
  return entries.flatMap((entry) => entry.prices.map((price) => ({ provider: entry.name, ...price })))
}

/** The built-in providers' prices (what the price book holds before config overrides). */
export const PRICES: readonly PriceRow[] = priceTable()

const model = (id: string, ownedBy: string): ModelEntry => ({ id, object: 'model', created: 0, owned_by: ownedBy })

/** `entries`: the registry's by default; a test may pass its own, through the same code. */
export async function createProviders(config: Config, entries: readonly ProviderEntry[] = PROVIDERS): Promise<Providers> {
  const { createUpstreamClientOptions } = await import('./upstream-client.ts')
  const { openAICompatible } = await import('./openai/adapter.ts')
  const client = createUpstreamClientOptions({
    firstByteTimeoutMs: config.upstream.firstByteTimeoutMs,
    secrets: config.secrets,
  })
  const out: Providers = {
    adapters: [],
    unavailable: [],
    models: [],
    summary: {},
    listed: new Set(),
    prefixes: entries.map((entry) => ({ provider: entry.name, prefixes: entry.prefixes })),
    prices: priceTable(entries),
  }

  for (const entry of entries) {
    let adapter: ProviderAdapter
    if (entry.env) {
      const { apiKey, baseURL } = config.accounts[entry.name] ?? { baseURL: entry.env.defaultBaseURL }
      if (!apiKey) {
        out.unavailable.push({ name: entry.name, reason: `set ${entry.env.apiKey} to use it` })
        out.summary[entry.name] = `off: ${entry.env.apiKey} is not set`
        continue
      }
      adapter = await entry.connect({ apiKey, baseURL }, client)
      out.summary[entry.name] = entry.describe?.summary ?? `ready (${baseURL})`
    } else {
      adapter = await entry.connect(config)
      out.summary[entry.name] = entry.describe?.summary ?? 'ready'
    }
    if (adapter.name !== entry.name) throw new Error(`Provider entry ${entry.name} made an adapter named ${adapter.name}`)
    // The model traits travel with the adapter, so whoever holds a route can ask them.
    out.adapters.push({ ...adapter, reasoning: entry.reasoning, maxOutputTokens: entry.maxOutputTokens })
    const ownedBy = entry.describe?.ownedBy ?? entry.name
    if (entry.models) {
      for (const id of entry.models) {
        out.models.push(model(id, ownedBy))
        out.listed.add(`${entry.name}/${id}`)
      }
    } else {
      out.models.push(...entry.prices.map((row) => model(`${entry.name}/${row.model}`, ownedBy)))
    }
  }

  for (const [name, settings] of Object.entries(config.providers)) {
    const apiKey = settings.apiKeyEnv ? process.env[settings.apiKeyEnv]?.trim() || undefined : undefined
    const builtIn = entries.find((entry): entry is UpstreamEntry => entry.name === settings.type && entry.env !== undefined)
    if (builtIn) {
      // Another account of a built-in provider: its adapter, traits and prices under this name.
      if (!apiKey) {
        out.unavailable.push({ name, reason: settings.apiKeyEnv ? `set ${settings.apiKeyEnv} to use it` : 'its apiKeyEnv is not set in GATEWAY_CONFIG' })
        out.summary[name] = `off: ${settings.apiKeyEnv ?? 'apiKeyEnv'} is not set`
        continue
      }
      const adapter = await builtIn.connect({ apiKey, baseURL: settings.baseURL }, client)
      out.adapters.push({ ...adapter, name, reasoning: builtIn.reasoning, maxOutputTokens: builtIn.maxOutputTokens })
      out.prices.push(...builtIn.prices.map((price) => ({ ...price, provider: name })))
      for (const id of [...new Set([...builtIn.prices.map((row) => row.model), ...settings.models])]) out.models.push(model(`${name}/${id}`, name))
      for (const id of settings.models) out.listed.add(`${name}/${id}`)
      out.summary[name] = `ready, another ${builtIn.name} account (${settings.baseURL})`
      continue
    }
    out.adapters.push(openAICompatible({ ...client, name, baseURL: settings.baseURL, apiKey }))
    for (const id of settings.models) {
      out.models.push(model(`${name}/${id}`, name))
      out.listed.add(`${name}/${id}`)
    }
    out.summary[name] = `ready, OpenAI-compatible (${settings.baseURL})`
  }
  return out
}
