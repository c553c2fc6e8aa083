// List prices of the chat models the gateway can call, as data. USD per million tokens, standard
// tier (not batch, flex, priority, fast mode or data-residency pricing).
//
// Every row says where its numbers came from. The pages were read on 2026-11-24 through the
// project's stored copies of public pages (no page showed a "last updated" date, hence
// "read 2026-11-24"). A row whose `source` starts with "UNVERIFIED" could not be checked against
// an official OpenAI/Anthropic page; it says what it is based on instead. Re-check those first.
//
// Conventions, matching computeCost in ./cost.ts (each rate is the full price of one token of
// that kind, not a surcharge):
// - `cacheRead`: price of an input token read from the prompt cache (OpenAI "cached input",
//   Anthropic "cache hits & refreshes"). Absent: cache reads are billed as ordinary input.
// - `cacheWrite`: price of an input token written to the cache with Anthropic's default 5-minute
//   TTL ("5m cache writes"). `cacheWrite1h`: the same with the 1-hour TTL ("1h cache writes").
// - OpenAI rows carry no `cacheWrite`: OpenAI charges nothing extra for writing its cache, a
//   written token costs ordinary input, which is what an absent `cacheWrite` means. (A 0 would
//   price such tokens as free. api.openai.com reports no cache-write tokens, but OpenAI-compatible
//   proxies in front of Anthropic can, and their price then belongs in a config override.)
// - Models whose standard price depends on the prompt length (Claude Haiku 5.5: one rate up to
//   100K prompt tokens, 5x above) are left out: one flat row would misprice them, and an absent
//   price is better than a wrong one. Sonnet 4 / 4.5 bill more above 200K input tokens, which is
//   only reachable with the opt-in 1M-context beta; their rows hold the standard (≤200K) rate.
//
// Lookup (./cost.ts) tries the exact model id, then the id without a trailing date suffix
// (`-2024-08-06`, `-20250514`, `-0613`). Snapshots whose price differs from their alias therefore
// need their own row (see gpt-4o-2024-05-13, gpt-3.5-turbo-1106 / -0613 below).
import type { Price } from './cost.ts'

export interface PriceRow extends Price {
  provider: 'openai' | 'anthropic' | 'demo'
  /** Model id as sent to / reported by the provider, without a date suffix unless the snapshot has its own price. */
  model: string
  /** Where the numbers came from: URL of the page read, and any caveat. */
  source: string
  /** Date shown on the source, or "read YYYY-MM-DD" when the page showed none. */
  asOf: string
}

const READ = 'read 2026-11-24'

// Anthropic: the pricing page, in the three stored versions that were read.
/** Current version: Fable 5.1, Mythos, Opus 5 … 4.5; Opus 4.1 "retired, except on Bedrock and Google Cloud", Opus 4 "retired, except on Google Cloud". */
const CLAUDE_PRICING = 'https://platform.claude.com/docs/en/about-claude/pricing'
/** Version listing Opus 4.6 … Haiku 3 (Sonnet 3.7 and Opus 3 marked deprecated). */
const CLAUDE_PRICING_46 = 'https://platform.claude.com/docs/en/docs/about-claude/pricing'
/** Older version that still lists "Claude Sonnet 3.5 (deprecated)". */
const CLAUDE_PRICING_OLD = 'https://docs.anthropic.com/en/docs/about-claude/pricing'
const CLAUDE_MODELS = 'https://platform.claude.com/docs/en/models'

// OpenAI: per-model pages of the API docs (the pricing page itself was not in the stored corpus).
const OPENAI_MODELS = 'https://developers.openai.com/api/docs/models'

const unverified = (basis: string) =>
  `UNVERIFIED: no official OpenAI page with this model's price was available to read; based on ${basis}`

export const PRICES: readonly PriceRow[] = [
  // ---------------------------------------------------------------- OpenAI
  {
    provider: 'openai', model: 'gpt-5', input: 1.25, cacheRead: 0.125, output: 10,
    source:
      `Input $1.25 matches "GPT-5" in the quick comparison on ${OPENAI_MODELS}/gpt-5-codex (official). ` +
      unverified(
        'raw.githubusercontent.com/outl1ne/openai-pricing/refs/heads/main/pricing.json ($1.25 / cached $0.125 / $10) ' +
          'and openrouter.ai/openai/gpt-5 ($1.25 / $10) for cached input and output',
      ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-5-mini', input: 0.25, cacheRead: 0.025, output: 2,
    source: `https://developers.openai.com/ko-KR/api/docs/models/gpt-5-mini (official model page, Korean locale; marked deprecation scheduled)`,
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-5-nano', input: 0.05, cacheRead: 0.005, output: 0.4,
    source: `${OPENAI_MODELS}/gpt-5-nano.md (official model page; marked Deprecated)`,
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-4.1', input: 2, cacheRead: 0.5, output: 8,
    source: unverified(
      'vercel.com/ai-gateway/models/gpt-4.1/providers (OpenAI route: $2.00 / $8.00, cache read $0.5) ' +
        'and the outl1ne/openai-pricing pricing.json ($2 / cached $0.5 / $8)',
    ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-4.1-mini', input: 0.4, cacheRead: 0.1, output: 1.6,
    source: unverified(
      'vercel.com/ai-gateway/models/gpt-4.1-mini/api ($0.40 / $1.60, cache read $0.10) ' +
        'and the outl1ne/openai-pricing pricing.json ($0.4 / cached $0.1 / $1.6)',
    ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-4.1-nano', input: 0.1, cacheRead: 0.025, output: 0.4,
    source: `https://developers.openai.com/ko-KR/api/docs/models/gpt-4.1-nano (official model page, Korean locale; marked shut down)`,
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-4o', input: 2.5, cacheRead: 1.25, output: 10,
    source: unverified(
      'the outl1ne/openai-pricing pricing.json ($2.5 / cached $1.25 / $10) and ' +
        'github.com/CommitBrief/commitbrief/wiki/Provider-OpenAI ($2.50 / $10.00 / cached $1.25)',
    ),
    asOf: READ,
  },
  {
    // Own row: the first GPT-4o snapshot kept its launch price, so it must not fall back to gpt-4o.
    provider: 'openai', model: 'gpt-4o-2024-05-13', input: 5, output: 15,
    source: unverified(
      'the outl1ne/openai-pricing pricing.json ("gpt-4o-2024-05-13": $5 / $15, no cached rate) and ' +
        'openrouter.ai/openai/gpt-4o-2024-05-13 ($5 / $15)',
    ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-4o-mini', input: 0.15, cacheRead: 0.075, output: 0.6,
    source:
      `Input $0.15 matches "GPT-4o mini" in the quick comparison on ${OPENAI_MODELS}/gpt-4-turbo (official). ` +
      unverified(
        'github.com/CommitBrief/commitbrief/wiki/Provider-OpenAI ($0.15 / $0.60 / cached $0.075) and ' +
          'the outl1ne/openai-pricing pricing.json for cached input and output',
      ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'o1', input: 15, cacheRead: 7.5, output: 60,
    source: unverified(
      'community.openai.com/t/how-to-correct-compute-the-cost-of-an-o1-model-api-call/1099176 ' +
        '(quotes the pricing page: $15.00 / cached $7.50 / $60.00) and the outl1ne/openai-pricing pricing.json',
    ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'o3', input: 2, cacheRead: 0.5, output: 8,
    source: unverified(
      'modelpedia.dev/openai/o3-2025-04-16 (Standard $2 / cached $0.5 / $8) and codeswap.net/models/o3 ' +
        '(the mid-2025 80% cut from $10 / $40; older copies that still say $10 / $40 are out of date)',
    ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'o3-mini', input: 1.1, cacheRead: 0.55, output: 4.4,
    source:
      `Input $1.10 matches "o3-mini" in the quick comparison on ${OPENAI_MODELS}/gpt-4-turbo (official). ` +
      unverified('llmcalc.app/models/o3-mini ($1.10 / $4.40, cache read $0.55) for cached input and output'),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'o4-mini', input: 1.1, cacheRead: 0.275, output: 4.4,
    source: unverified(
      'the outl1ne/openai-pricing pricing.json ($1.1 / cached $0.275 / $4.4) and ' +
        'vercel.com/ai-gateway/models/o4-mini.md ($1.1 / $4.4)',
    ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-4-turbo', input: 10, output: 30,
    source: `${OPENAI_MODELS}/gpt-4-turbo.md (official model page, default snapshot gpt-4-turbo-2024-04-09; no cached-input rate; the Korean page marks it shut down)`,
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-4', input: 30, output: 60,
    source: `${OPENAI_MODELS}/gpt-4.md (official model page; no cached-input rate)`,
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-4-0613', input: 30, output: 60,
    source: `${OPENAI_MODELS}/gpt-4.md (official model page: gpt-4-0613 is gpt-4's default snapshot)`,
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-3.5-turbo', input: 0.5, output: 1.5,
    source: `${OPENAI_MODELS}/gpt-3.5-turbo.md (official model page; no cached-input rate)`,
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-3.5-turbo-0125', input: 0.5, output: 1.5,
    source: `${OPENAI_MODELS}/gpt-3.5-turbo.md (official model page: gpt-3.5-turbo-0125 is the default snapshot)`,
    asOf: READ,
  },
  {
    // Own rows: older GPT-3.5 snapshots were priced higher than today's alias.
    provider: 'openai', model: 'gpt-3.5-turbo-1106', input: 1, output: 2,
    source: unverified(
      'the snapshot table copied from OpenAI in huggingface.co/spaces/Bikatr7/Kudasai ' +
        '(util/openai_model_info/openai_chat_model_info.csv: $0.0010 / $0.0020 per 1K)',
    ),
    asOf: READ,
  },
  {
    provider: 'openai', model: 'gpt-3.5-turbo-0613', input: 1.5, output: 2,
    source: unverified(
      'the same Kudasai snapshot table ($0.0015 / $0.0020 per 1K; it lists the snapshot as shut down June 2024)',
    ),
    asOf: READ,
  },

  // ------------------------------------------------------------- Anthropic
  // Cache columns are the pricing page's own numbers: 5m write 1.25x input, 1h write 2x, read 0.1x,
  // except Claude Haiku 3 ($0.30 5m write is 1.2x; $0.03 read is 0.12x) and Fable 5 as listed.
  {
    provider: 'anthropic', model: 'claude-opus-4-5', input: 5, cacheWrite: 6.25, cacheWrite1h: 10, cacheRead: 0.5, output: 25,
    source: `${CLAUDE_PRICING} (official pricing page, "Claude Opus 4.5")`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-opus-4-1', input: 15, cacheWrite: 18.75, cacheWrite1h: 30, cacheRead: 1.5, output: 75,
    source: `${CLAUDE_PRICING} (official pricing page, "Claude Opus 4.1 (retired, except on Bedrock and Google Cloud)")`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-opus-4', input: 15, cacheWrite: 18.75, cacheWrite1h: 30, cacheRead: 1.5, output: 75,
    source: `${CLAUDE_PRICING} (official pricing page, "Claude Opus 4 (retired, except on Google Cloud)")`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-sonnet-4-5', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source:
      `${CLAUDE_PRICING_46} (official pricing page, "Claude Sonnet 4.5"; ${CLAUDE_MODELS}/sonnet-4-5/overview: deprecated, retires 2026-11-30). ` +
      'Requests over 200K input tokens (1M-context beta) bill $6 / $22.50; not represented',
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-sonnet-4', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source:
      `${CLAUDE_PRICING_46} (official pricing page, "Claude Sonnet 4"). ` +
      'Requests over 200K input tokens (1M-context beta) bill $6 / $22.50; not represented',
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-3-7-sonnet', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Sonnet 3.7 (deprecated)"; no longer listed on the current version)`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-3-5-sonnet', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source: `${CLAUDE_PRICING_OLD} (official pricing page, older version: "Claude Sonnet 3.5 (deprecated)"; no longer listed on later versions)`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-haiku-4-5', input: 1, cacheWrite: 1.25, cacheWrite1h: 2, cacheRead: 0.1, output: 5,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Haiku 4.5"; ${CLAUDE_MODELS}/haiku-4-5/overview: legacy, still available)`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-3-5-haiku', input: 0.8, cacheWrite: 1, cacheWrite1h: 1.6, cacheRead: 0.08, output: 4,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Haiku 3.5")`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-3-haiku', input: 0.25, cacheWrite: 0.3, cacheWrite1h: 0.5, cacheRead: 0.03, output: 1.25,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Haiku 3")`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-3-opus', input: 15, cacheWrite: 18.75, cacheWrite1h: 30, cacheRead: 1.5, output: 75,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Opus 3 (deprecated)")`,
    asOf: READ,
  },
  // Newer Claude models whose id and full price card an official page confirms.
  {
    provider: 'anthropic', model: 'claude-opus-4-6', input: 5, cacheWrite: 6.25, cacheWrite1h: 10, cacheRead: 0.5, output: 25,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Opus 4.6"); id from ${CLAUDE_MODELS}/opus-4-6/overview.md`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-sonnet-4-6', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Sonnet 4.6"); id from https://platform.claude.com/docs/en/about-claude/models/overview.md`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-opus-5', input: 5, cacheWrite: 6.25, cacheWrite1h: 10, cacheRead: 0.5, output: 25,
    source: `${CLAUDE_MODELS}/opus-5/overview (official model page: pricing card and id; legacy, still available)`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-sonnet-5', input: 2, cacheWrite: 2.5, cacheWrite1h: 4, cacheRead: 0.2, output: 10,
    source: `${CLAUDE_MODELS}/sonnet-5/overview (official model page: pricing card and id; legacy, still available)`,
    asOf: READ,
  },
  {
    provider: 'anthropic', model: 'claude-fable-5', input: 10, cacheWrite: 12.5, cacheWrite1h: 20, cacheRead: 1, output: 50,
    source: `${CLAUDE_PRICING} (official pricing page, "Claude Fable 5"); id from ${CLAUDE_MODELS}/fable-5/overview.md`,
    asOf: READ,
  },

  // ------------------------------------------------------------------ demo
  {
    provider: 'demo', model: 'demo-chat', input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0,
    source: 'offline demo provider: free by definition',
    asOf: '2026-11-24',
  },
  {
    provider: 'demo', model: 'demo-reasoner', input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0,
    source: 'offline demo provider: free by definition',
    asOf: '2026-11-24',
  },
]
