// Anthropic's entry in the provider registry. Chat and Responses callers reach its Messages API
// through translators; which Claude generation takes what is in ./model-traits.ts.
import type { UpstreamEntry } from '../entry.ts'
import { takesThinking } from './model-traits.ts'
import { ANTHROPIC_PRICES } from './prices.ts'

export const anthropic: UpstreamEntry = {
  name: 'anthropic',
  env: { apiKey: 'ANTHROPIC_API_KEY', baseURL: 'ANTHROPIC_BASE_URL', defaultBaseURL: 'https://api.anthropic.com' },
  prefixes: ['claude-'],
  prices: ANTHROPIC_PRICES,
  reasoning: takesThinking,
  async connect(settings, client) {
    const { anthropicProvider } = await import('./adapter.ts')
    return anthropicProvider({ ...client, ...settings })
  },
}
