// The offline demo's entry in the provider registry: always on, no account, two fixed models.
import type { LocalEntry } from '../entry.ts'
import { DEMO_MODELS, demoProvider } from './adapter.ts'
import { DEMO_PRICES } from './prices.ts'

export const demo: LocalEntry = {
  name: 'demo',
  prefixes: ['demo-'],
  prices: DEMO_PRICES,
  // The reasoner "thinks" (reasoning tokens, a reasoning setting); demo-chat does not.
  reasoning: (model) => model === 'demo-reasoner',
  models: DEMO_MODELS,
  describe: {
    ownedBy: 'demo (offline demo provider, no model is called)',
    summary: 'ready (offline demo provider: deterministic answers, no model is called)',
  },
  connect: (config) => demoProvider(config.demo),
}
