// OpenAI's list prices, by the conventions in src/pricing/prices.ts (where the header says how
// and when the pages were read). OpenAI rows carry no `cacheWrite`: writing its cache costs
// ordinary input.
import { READ, type ModelPrice } from '../../pricing/prices.ts'

// Per-model pages of the API docs (the pricing page itself was not in the stored corpus).
const OPENAI_MODELS = 'https://developers.openai.com/api/docs/models'

const unverified = (basis: string) =>
  `UNVERIFIED: no official OpenAI page with this model's price was available to read; based on ${basis}`

export const OPENAI_PRICES: readonly ModelPrice[] = [
  {
    model: 'gpt-5', input: 1.25, cacheRead: 0.125, output: 10,
    source:
      `Input $1.25 matches "GPT-5" in the quick comparison on ${OPENAI_MODELS}/gpt-5-codex (official). ` +
      unverified(
        'raw.githubusercontent.com/outl1ne/openai-pricing/refs/heads/main/pricing.json ($1.25 / cached $0.125 / $10) ' +
          'and openrouter.ai/openai/gpt-5 ($1.25 / $10) for cached input and output',
      ),
    asOf: READ,
  },
  {
    model: 'gpt-5-mini', input: 0.25, cacheRead: 0.025, output: 2,
    source: `https://developers.openai.com/ko-KR/api/docs/models/gpt-5-mini (official model page, Korean locale; marked deprecation scheduled)`,
    asOf: READ,
  },
  {
    model: 'gpt-5-nano', input: 0.05, cacheRead: 0.005, output: 0.4,
    source: `${OPENAI_MODELS}/gpt-5-nano.md (official model page; marked Deprecated)`,
    asOf: READ,
  },
  {
    model: 'gpt-4.1', input: 2, cacheRead: 0.5, output: 8,
    source: unverified(
      'vercel.com/ai-gateway/models/gpt-4.1/providers (OpenAI route: $2.00 / $8.00, cache read $0.5) ' +
        'and the outl1ne/openai-pricing pricing.json ($2 / cached $0.5 / $8)',
    ),
    asOf: READ,
  },
  {
    model: 'gpt-4.1-mini', input: 0.4, cacheRead: 0.1, output: 1.6,
    source: unverified(
      'vercel.com/ai-gateway/models/gpt-4.1-mini/api ($0.40 / $1.60, cache read $0.10) ' +
        'and the outl1ne/openai-pricing pricing.json ($0.4 / cached $0.1 / $1.6)',
    ),
    asOf: READ,
  },
  {
    model: 'gpt-4.1-nano', input: 0.1, cacheRead: 0.025, output: 0.4,
    source: `https://developers.openai.com/ko-KR/api/docs/models/gpt-4.1-nano (official model page, Korean locale; marked shut down)`,
    asOf: READ,
  },
  {
    model: 'gpt-4o', input: 2.5, cacheRead: 1.25, output: 10,
    source: unverified(
      'the outl1ne/openai-pricing pricing.json ($2.5 / cached $1.25 / $10) and ' +
        'github.com/CommitBrief/commitbrief/wiki/Provider-OpenAI ($2.50 / $10.00 / cached $1.25)',
    ),
    asOf: READ,
  },
  {
    // Own row: the first GPT-4o snapshot kept its launch price, so it must not fall back to gpt-4o.
    model: 'gpt-4o-2024-05-13', input: 5, output: 15,
    source: unverified(
      'the outl1ne/openai-pricing pricing.json ("gpt-4o-2024-05-13": $5 / $15, no cached rate) and ' +
        'openrouter.ai/openai/gpt-4o-2024-05-13 ($5 / $15)',
    ),
    asOf: READ,
  },
  {
    model: 'gpt-4o-mini', input: 0.15, cacheRead: 0.075, output: 0.6,
    source:
      `Input $0.15 matches "GPT-4o mini" in the quick comparison on ${OPENAI_MODELS}/gpt-4-turbo (official). ` +
      unverified(
        'github.com/CommitBrief/commitbrief/wiki/Provider-OpenAI ($0.15 / $0.60 / cached $0.075) and ' +
          'the outl1ne/openai-pricing pricing.json for cached input and output',
      ),
    asOf: READ,
  },
  {
    model: 'o1', input: 15, cacheRead: 7.5, output: 60,
    source: unverified(
      'community.openai.com/t/how-to-correct-compute-the-cost-of-an-o1-model-api-call/1099176 ' +
        '(quotes the pricing page: $15.00 / cached $7.50 / $60.00) and the outl1ne/openai-pricing pricing.json',
    ),
    asOf: READ,
  },
  {
    model: 'o3', input: 2, cacheRead: 0.5, output: 8,
    source: unverified(
      'modelpedia.dev/openai/o3-2025-04-16 (Standard $2 / cached $0.5 / $8) and codeswap.net/models/o3 ' +
        '(the mid-2025 80% cut from $10 / $40; older copies that still say $10 / $40 are out of date)',
    ),
    asOf: READ,
  },
  {
    model: 'o3-mini', input: 1.1, cacheRead: 0.55, output: 4.4,
    source:
      `Input $1.10 matches "o3-mini" in the quick comparison on ${OPENAI_MODELS}/gpt-4-turbo (official). ` +
      unverified('llmcalc.app/models/o3-mini ($1.10 / $4.40, cache read $0.55) for cached input and output'),
    asOf: READ,
  },
  {
    model: 'o4-mini', input: 1.1, cacheRead: 0.275, output: 4.4,
    source: unverified(
      'the outl1ne/openai-pricing pricing.json ($1.1 / cached $0.275 / $4.4) and ' +
        'vercel.com/ai-gateway/models/o4-mini.md ($1.1 / $4.4)',
    ),
    asOf: READ,
  },
  {
    model: 'gpt-4-turbo', input: 10, output: 30,
    source: `${OPENAI_MODELS}/gpt-4-turbo.md (official model page, default snapshot gpt-4-turbo-2024-04-09; no cached-input rate; the Korean page marks it shut down)`,
    asOf: READ,
  },
  {
    model: 'gpt-4', input: 30, output: 60,
    source: `${OPENAI_MODELS}/gpt-4.md (official model page; no cached-input rate)`,
    asOf: READ,
  },
  {
    model: 'gpt-4-0613', input: 30, output: 60,
    source: `${OPENAI_MODELS}/gpt-4.md (official model page: gpt-4-0613 is gpt-4's default snapshot)`,
    asOf: READ,
  },
  {
    model: 'gpt-3.5-turbo', input: 0.5, output: 1.5,
    source: `${OPENAI_MODELS}/gpt-3.5-turbo.md (official model page; no cached-input rate)`,
    asOf: READ,
  },
  {
    model: 'gpt-3.5-turbo-0125', input: 0.5, output: 1.5,
    source: `${OPENAI_MODELS}/gpt-3.5-turbo.md (official model page: gpt-3.5-turbo-0125 is the default snapshot)`,
    asOf: READ,
  },
  {
    // Own rows: older GPT-3.5 snapshots were priced higher than today's alias.
    model: 'gpt-3.5-turbo-1106', input: 1, output: 2,
    source: unverified(
      'the snapshot table copied from OpenAI in huggingface.co/spaces/Bikatr7/Kudasai ' +
        '(util/openai_model_info/openai_chat_model_info.csv: $0.0010 / $0.0020 per 1K)',
    ),
    asOf: READ,
  },
  {
    model: 'gpt-3.5-turbo-0613', input: 1.5, output: 2,
    source: unverified(
      'the same Kudasai snapshot table ($0.0015 / $0.0020 per 1K; it lists the snapshot as shut down June 2024)',
    ),
    asOf: READ,
  },
]
