// OpenAI's entry in the provider registry. Its adapter is the OpenAI-compatible one, speaking
// every API OpenAI has (a compatible server from the providers file speaks chat and embeddings).
import type { UpstreamEntry } from '../entry.ts'
import { OPENAI_PRICES } from './prices.ts'

/**
 * Output-token ceilings of OpenAI's models as its model pages give them, first match wins (not
 * re-read for this table: check them when adding a model). A model not listed is asked for what
 * the caller asked.
 */
const MAX_OUTPUT: ReadonlyArray<readonly [RegExp, number]> = [
  [/^gpt-5/, 128_000],
  [/^(o1|o3|o4)/, 100_000],
  [/^gpt-4\.1/, 32_768],
  [/^gpt-4o-2024-05-13$/, 4_096],
  [/^gpt-4o/, 16_384],
  [/^gpt-4-turbo/, 4_096],
  [/^gpt-4(-\d{4})?$/, 8_192],
  [/^gpt-3\.5-turbo/, 4_096],
]

export const openai: UpstreamEntry = {
  name: 'openai',
  env: { apiKey: 'OPENAI_API_KEY', baseURL: 'OPENAI_BASE_URL', defaultBaseURL: 'https://api.openai.com/v1' },
  prefixes: ['gpt-', 'o1', 'o3', 'o4', 'chatgpt-', 'text-embedding-'],
  prices: OPENAI_PRICES,
  // The o-series and GPT-5 take `reasoning_effort`; older models answer it with a 400.
  reasoning: (model) => /^(o\d|gpt-5)/.test(model),
  maxOutputTokens: (model) => MAX_OUTPUT.find(([pattern]) => pattern.test(model))?.[1],
  async connect(settings, client) {
    const { openAICompatible } = await import('./adapter.ts')
    return openAICompatible({ ...client, name: openai.name, ...settings, apis: ['chat', 'responses', 'embeddings'] })
  },
}
