// The composition root: providers, router, prices and the dispatch wired into the server.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Authenticator } from './auth.ts'
import type { KeyRing } from './keys/keyring.ts'
import { startNamedKeys } from './keys/access.ts'
import type { Config } from './config.ts'
import { ReasoningAgent } from './agent/loop.ts'
import { McpServers } from './agent/mcp.ts'
import { loadToolsConfig } from './agent/tools-config.ts'
import { Toolbox, type ToolSource } from './agent/toolbox.ts'
import { BUILTIN_TOOLS } from './agent/tools/builtin.ts'
import { Dispatch } from './core/dispatch.ts'
import { ModelRouter } from './core/router.ts'
import { createResponseCache } from './core/cache/stores.ts'
import { createLimits } from './limits/create.ts'
import type { Limits } from './limits/limits.ts'
import { modelNames } from './limits/models.ts'
import type { Principal } from './keys/principal.ts'
import { UnmeteredLog } from './core/unmetered.ts'
import { PriceBook } from './pricing/cost.ts'
import { createProviders } from './providers/registry.ts'
import { translatorFor } from './providers/translators.ts'
import { ResponseStore } from './routes/responses/store.ts'
import { buildServer } from './server.ts'
import type { Telemetry } from './telemetry/setup.ts'

/** Responses kept for translated upstreams (previous_response_id): at most this many, and bytes. */
const RESPONSE_STORE_MAX_ENTRIES = 10_000
const RESPONSE_STORE_MAX_BYTES = 64 * 1024 * 1024

export interface Gateway {
  app: FastifyInstance
  /** One line per provider for the start-up log: which are usable and why not. */
  providerSummary: Record<string, string>
  /** Tool names the agent can use, for the start-up log. */
  toolSummary: string[]
  /** Route groups and their targets, for the start-up log. */
  routeSummary: Record<string, string>
  /** Where the response cache keeps answers (memory, Redis) or `off`, for the start-up log. */
  cacheSummary: string
  /** Named keys: how many from the keys file, where the admin API keeps its own, for the start-up log. */
  keysSummary: string
  /** Rate limits and budgets of named keys (memory, or Redis with REDIS_URL); `spendOf(principal)` reads a key's spend. */
  limits: Limits
  /** Stops what the gateway started besides the HTTP server (MCP servers). */
  close(): Promise<void>
}

export async function createGateway(deps: {
  config: Config
  logger: FastifyBaseLogger
  telemetry: Telemetry
  isDraining: () => boolean
  /** The key check shared with the SERVER span (made from config.apiKeys when absent). */
  authenticator?: Authenticator
  /** The named keys the authenticator reads (src/keys/access.ts); undefined: none configured. */
  keyring?: KeyRing | undefined
}): Promise<Gateway> {
  const { config } = deps
  const providers = await createProviders(config)
  const router = new ModelRouter(providers.adapters, providers.unavailable, config.aliases, providers.listed, providers.prefixes, config.routes)
  const cache = await createResponseCache(config, deps.logger)
  const limits = await createLimits(config, deps.logger, modelNames(router))
  const dispatch = new Dispatch({
    router,
    prices: new PriceBook(providers.prices, config.priceOverrides),
    translatorFor,
    captureContent: config.captureContent,
    totalTimeoutMs: config.upstream.totalTimeoutMs,
    maxRetries: config.upstream.maxRetries,
    unmetered: new UnmeteredLog(deps.logger),
    cache,
  })
  // MCP servers are started (and their tools discovered) before the gateway listens.
  const mcp = config.agent.toolsConfigPath
    ? await McpServers.start(loadToolsConfig(config.agent.toolsConfigPath), { logger: deps.logger })
    : undefined
  const sources: ToolSource[] = [{ tools: () => [...BUILTIN_TOOLS] }, ...(mcp ? [mcp] : [])]
  const toolbox = new Toolbox(sources, config.agent.toolTimeoutMs)
  const agent = new ReasoningAgent({ dispatch, router, toolbox })
  const responses = {
    store: new ResponseStore({ maxEntries: RESPONSE_STORE_MAX_ENTRIES, maxBytes: RESPONSE_STORE_MAX_BYTES }),
    // GET / DELETE /v1/responses/{id} go to the upstream that keeps responses: the one that speaks
    // the Responses API and can forward a request (OpenAI).
    openai: providers.adapters.find((adapter) => adapter.forward && adapter.apis.includes('responses')),
  }
  const keys = await startNamedKeys(config, deps.keyring, deps.logger)
  const adminKeys = keys.store && deps.keyring ? { store: keys.store, keyring: deps.keyring, spendOf: (principal: Principal) => limits.spendOf(principal) } : undefined
  const app = buildServer({ ...deps, adminKeys, dispatch, responses, router, models: providers.models, agent, toolbox, mcp, limits })
  return {
    app,
    providerSummary: providers.summary,
    toolSummary: toolbox.all().map((tool) => tool.name),
    routeSummary: Object.fromEntries(
      router.routeGroups().map((group) => [group.name, `${group.config.strategy}: ${group.targets.map((t) => `${t.route.adapter.name}/${t.route.model}`).join(', ')}`]),
    ),
    limits,
    cacheSummary: !cache
      ? 'off (no route group or global cache setting turns it on)'
      : cache.store.kind === 'redis'
        ? `redis (${config.cacheRedisUrl === config.redisUrl ? 'REDIS_URL' : 'REDIS_CACHE_URL'})`
        : `memory, ${Math.round(config.cache.maxBytes / 1024 / 1024)} MiB (set REDIS_URL to share it between replicas)`,
    keysSummary: keys.summary,
    close: async () => {
      await keys.close()
      await mcp?.close()
      await cache?.store.close?.()
      await limits.close()
    },
  }
}
