// OpenAI's entry in the provider registry. Its adapter is the OpenAI-compatible one, speaking
// every API OpenAI has (a compatible server from the providers file speaks chat and embeddings).
import type { UpstreamEntry } from '../entry.ts'
import { OPENAI_PRICES } from './prices.ts'

export const openai: UpstreamEntry = {
  name: 'openai',
  env: { apiKey: 'OPENAI_API_KEY', baseURL: 'OPENAI_BASE_URL', defaultBaseURL: 'https://api.openai.com/v1' },
  prefixes: ['gpt-', 'o1', 'o3', 'o4', 'chatgpt-', 'text-embedding-'],
  prices: OPENAI_PRICES,
  // The o-series and GPT-5 take `reasoning_effort`; older models answer it with a 400.
  reasoning: (model) => /^(o\d|gpt-5)/.test(model),
  async connect(settings, client) {
    const { openAICompatible } = await import('./adapter.ts')
    return openAICompatible({ ...client, name: openai.name, ...settings, apis: ['chat', 'responses', 'embeddings'] })
  },
}
