// The composition root: providers, router, prices and the chat service wired into the server.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Config } from './config.ts'
import { ChatService } from './core/chat.ts'
import { ModelRouter } from './core/router.ts'
import { PriceBook } from './pricing/cost.ts'
import { PRICES } from './pricing/prices.ts'
import { createProviders } from './providers/registry.ts'
import { buildServer } from './server.ts'
import type { Telemetry } from './telemetry/setup.ts'

export interface Gateway {
  app: FastifyInstance
  /** One line per provider for the start-up log: which are usable and why not. */
  providerSummary: Record<string, string>
}

export function createGateway(deps: {
  config: Config
  logger: FastifyBaseLogger
  telemetry: Telemetry
  isDraining: () => boolean
}): Gateway {
  const { config } = deps
  const providers = createProviders(config)
  const router = new ModelRouter(providers.adapters, providers.unavailable, config.aliases)
  const chat = new ChatService({
    router,
    prices: new PriceBook(PRICES, config.priceOverrides),
    captureContent: config.captureContent,
    totalTimeoutMs: config.upstream.totalTimeoutMs,
  })
  const app = buildServer({ ...deps, chat, router, models: providers.models })
  return { app, providerSummary: providers.summary }
}
