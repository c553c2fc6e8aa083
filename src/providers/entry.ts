// What the registry knows of a provider: its name, the bare model names it answers, its prices,
// its model traits and how its adapter is made. Code outside src/providers/ learns about
// providers from these entries (through ./registry.ts), never by naming one.
import type { Config } from '../config.ts'
import type { ProviderAdapter } from '../core/types.ts'
import type { ModelPrice } from '../pricing/prices.ts'
import type { UpstreamClientOptions } from './upstream-client.ts'

interface EntryBase {
  /** `name/model` routes here; spans and metrics name it (`llm.provider`). Lowercase, no slash. */
  readonly name: string
  /** Bare model-name prefixes routed here without `name/` (`claude-` → anthropic). */
  readonly prefixes: readonly string[]
  /** List prices of its models, by the conventions in src/pricing/prices.ts. */
  readonly prices: readonly ModelPrice[]
  /**
   * Whether `model` takes a reasoning setting (`reasoning_effort`, or thinking through a
   * translation). A model that does not answers one with a 400, so the agent sends it only here.
   */
  reasoning(model: string): boolean
  /**
   * The most output tokens `model` may be asked for, when known: a translated request asking for
   * more (Claude Code asks 128,000 of any model) is clamped to it instead of refused upstream.
   */
  maxOutputTokens?(model: string): number | undefined
  /**
   * The only models it serves (the demo), listed bare by GET /v1/models. Absent: its priced
   * models are listed, as `name/model`, and any id is forwarded.
   */
  readonly models?: readonly string[]
  /** What GET /v1/models says owns its models and the start-up summary says of it, when not its name and base URL. */
  readonly describe?: { ownedBy: string; summary: string }
}

/** The environment variables of a provider reached with an account. */
export interface ProviderEnv {
  /** Unset, the provider is off: a request for it is a 503 naming this variable. */
  readonly apiKey: string
  readonly baseURL: string
  readonly defaultBaseURL: string
}

export interface ProviderSettings {
  apiKey: string
  baseURL: string
}

/**
 * A provider upstream of the gateway, on only when its key is set. `connect` imports its adapter
 * when the gateway starts (after telemetry), not when config.ts reads the entry's variables:
 * an adapter loads undici and node:http.
 */
export interface UpstreamEntry extends EntryBase {
  readonly env: ProviderEnv
  connect(settings: ProviderSettings, client: UpstreamClientOptions): Promise<ProviderAdapter>
}

/** A provider that needs no account (the offline demo): always on. */
export interface LocalEntry extends EntryBase {
  readonly env?: undefined
  connect(config: Config): ProviderAdapter | Promise<ProviderAdapter>
}

export type ProviderEntry = UpstreamEntry | LocalEntry
