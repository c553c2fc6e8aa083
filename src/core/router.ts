// Model name → the targets a call tries: a route group's (GATEWAY_CONFIG `routes`), in the order
// its strategy gives; else one provider adapter and upstream model id, where explicit
// `provider/model` wins, then aliases from config, then the well-known bare prefixes. Resolution
// is a few map lookups: it runs on every request.
import { ConfigError, type RouteGroupConfig } from '../config.ts'
import type { ProviderAdapter } from './types.ts'
import { GatewayError, invalidRequest } from '../errors.ts'
import { RouteGroup, type Target } from './routing/group.ts'

export interface Route {
  adapter: ProviderAdapter
  /** The model id sent upstream, without the provider prefix. */
  model: string
  /** The model as the caller named it: an alias, `provider/model`, or `model` itself. */
  requested: string
  /** The model is listed in the configuration (a provider's `models` in GATEWAY_CONFIG, the demo's). */
  listed: boolean
}

/** What one call tries, in order. */
export interface Plan {
  /** The model as the caller named it. */
  requested: string
  /** The route group the name is, if it is one. */
  group: RouteGroup | undefined
  /** At least one; a plain model has exactly one. */
  targets: readonly Target[]
}

/** A provider the gateway knows but cannot use, with the reason (e.g. a missing key). */
export interface UnavailableProvider {
  name: string
  reason: string
}

/** Bare model names a provider answers without `provider/` (`claude-…`), from its registry entry. */
export interface BarePrefixes {
  provider: string
  prefixes: readonly string[]
}

export class ModelRouter {
  private readonly adapters: ReadonlyMap<string, ProviderAdapter>
  private readonly unavailable: ReadonlyMap<string, string>
  private readonly aliases: Readonly<Record<string, string>>
  private readonly listed: ReadonlySet<string>
  private readonly prefixes: readonly BarePrefixes[]
  private readonly groups: ReadonlyMap<string, RouteGroup>

  /**
   * `listed`: the configured models, as `provider/model`. `prefixes`: tried in order. `routes`:
   * the route groups; a target whose provider is off (no key) is a start-up error naming it.
   */
  constructor(
    adapters: ProviderAdapter[],
    unavailable: UnavailableProvider[],
    aliases: Record<string, string>,
    listed: ReadonlySet<string> = new Set(),
    prefixes: readonly BarePrefixes[] = [],
    routes: Record<string, RouteGroupConfig> = {},
  ) {
    this.adapters = new Map(adapters.map((a) => [a.name, a]))
    this.unavailable = new Map(unavailable.map((u) => [u.name, u.reason]))
    this.aliases = aliases
    this.listed = listed
    this.prefixes = prefixes
    const groups = new Map<string, RouteGroup>()
    // Every bad target is named at once, one line each, like the rest of the configuration.
    const problems: string[] = []
    for (const [name, config] of Object.entries(routes)) {
      const targets = config.targets.map((target, index): Route | undefined => {
        const where = `GATEWAY_CONFIG routes.${name}.targets.${index}`
        const adapter = this.adapters.get(target.provider)
        if (!adapter) {
          const why = this.unavailable.get(target.provider) ?? 'no such provider'
          problems.push(`${where}: provider ${target.provider} is not available (${why})`)
          return undefined
        }
        if (adapter.models && !adapter.models.includes(target.model)) {
          problems.push(`${where}: provider ${target.provider} serves only ${adapter.models.join(', ')}, not ${target.model}`)
          return undefined
        }
        // A configured target is known: its metrics get series of their own at once.
        return { adapter, model: target.model, requested: name, listed: true }
      })
      if (targets.every((route): route is Route => route !== undefined)) groups.set(name, new RouteGroup(name, config, targets))
    }
    if (problems.length > 0) throw new ConfigError(problems)
    this.groups = groups
  }

  /** The route groups, for GET /v1/routes and /v1/models. */
  routeGroups(): RouteGroup[] {
    return [...this.groups.values()]
  }

  /** The targets a call to `requested` tries, in order. Throws the 4xx of a model not served. */
  plan(requested: string, random?: () => number): Plan {
    const group = this.groupOf(requested)
    if (group) return { requested, group, targets: group.order(random) }
    return { requested, group: undefined, targets: [{ route: this.model(requested), weight: 1, contextFallback: false }] }
  }

  providerNames(): string[] {
    return [...this.adapters.keys(), ...this.unavailable.keys()]
  }

  aliasEntries(): Array<[string, string]> {
    return Object.entries(this.aliases)
  }

  /** The one route of a model, or a route group's first target (its provider answers questions about it). */
  resolve(requested: string): Route {
    const group = this.groupOf(requested)
    return group ? group.targets[0]!.route : this.model(requested)
  }

  /** The route group `requested` names, itself or through an alias. */
  private groupOf(requested: string): RouteGroup | undefined {
    return this.groups.get(Object.hasOwn(this.aliases, requested) ? this.aliases[requested]! : requested)
  }

  private model(requested: string): Route {
    const name = Object.hasOwn(this.aliases, requested) ? this.aliases[requested]! : requested
    this.checkSegments(name, requested)
    const slash = name.indexOf('/')
    if (slash > 0) {
      const provider = name.slice(0, slash)
      if (this.adapters.has(provider) || this.unavailable.has(provider)) {
        return this.served(this.adapter(provider), name.slice(slash + 1), requested)
      }
    }
    for (const { provider, prefixes } of this.prefixes) {
      if (prefixes.some((p) => name.startsWith(p))) return this.served(this.adapter(provider), name, requested)
    }
    throw new GatewayError(
      'model_not_found',
      `The model \`${requested}\` is not served by this gateway. Name a provider explicitly ` +
        `(${this.providerPrefixes()}), use a model with a known prefix ` +
        `(${this.prefixes.flatMap((b) => b.prefixes).join(', ')})` +
        (Object.keys(this.aliases).length ? ` or an alias (${Object.keys(this.aliases).join(', ')})` : '') +
        '. GET /v1/models lists what is configured.',
      { param: 'model' },
    )
  }

  /**
   * `openai/`, `openai//`, `/x`, `a//b`: a name with an empty part between slashes is a typo, and
   * what is left of it after the prefix (`''`, `/`) must not be sent upstream as a model id.
   */
  private checkSegments(name: string, requested: string): void {
    if (!name.split('/').some((part) => part.trim() === '')) return
    throw invalidRequest(
      `The model \`${requested}\` is empty or has an empty part between slashes; name a model, or a provider and a model (${this.providerPrefixes()}).`,
      'model',
    )
  }

  private providerPrefixes(): string {
    return this.providerNames().map((p) => `${p}/…`).join(', ')
  }

  /** A provider with a fixed model list (the demo) decides here, before any telemetry names the model. */
  private served(adapter: ProviderAdapter, model: string, requested: string): Route {
    if (!adapter.models || adapter.models.includes(model)) {
      return { adapter, model, requested, listed: this.listed.has(`${adapter.name}/${model}`) }
    }
    throw new GatewayError(
      'model_not_found',
      `The model \`${requested}\` is not served by this gateway: provider ${adapter.name} serves only ` +
        `${adapter.models.join(', ')}. GET /v1/models lists what is configured.`,
      { param: 'model' },
    )
  }

  private adapter(provider: string): ProviderAdapter {
    const adapter = this.adapters.get(provider)
    if (adapter) return adapter
    throw new GatewayError('unavailable', `Provider ${provider} is not available: ${this.unavailable.get(provider)}`, {
      code: 'provider_not_configured',
    })
  }
}
