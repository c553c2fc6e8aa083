// Anthropic's list prices, by the conventions in src/pricing/prices.ts (where the header says how
// and when the pages were read).
import { READ, type ModelPrice } from '../../pricing/prices.ts'

// The pricing page, in the three stored versions that were read.
/** Current version: Fable 5.1, Mythos, Opus 5 … 4.5; Opus 4.1 "retired, except on Bedrock and Google Cloud", Opus 4 "retired, except on Google Cloud". */
const CLAUDE_PRICING = 'https://platform.claude.com/docs/en/about-claude/pricing'
/** Version listing Opus 4.6 … Haiku 3 (Sonnet 3.7 and Opus 3 marked deprecated). */
const CLAUDE_PRICING_46 = 'https://platform.claude.com/docs/en/docs/about-claude/pricing'
/** Older version that still lists "Claude Sonnet 3.5 (deprecated)". */
const CLAUDE_PRICING_OLD = 'https://docs.anthropic.com/en/docs/about-claude/pricing'
const CLAUDE_MODELS = 'https://platform.claude.com/docs/en/models'

export const ANTHROPIC_PRICES: readonly ModelPrice[] = [
  // Cache columns are the pricing page's own numbers: 5m write 1.25x input, 1h write 2x, read 0.1x,
  // except Claude Haiku 3 ($0.30 5m write is 1.2x; $0.03 read is 0.12x) and Fable 5 as listed.
  {
    model: 'claude-opus-4-5', input: 5, cacheWrite: 6.25, cacheWrite1h: 10, cacheRead: 0.5, output: 25,
    source: `${CLAUDE_PRICING} (official pricing page, "Claude Opus 4.5")`,
    asOf: READ,
  },
  {
    model: 'claude-opus-4-1', input: 15, cacheWrite: 18.75, cacheWrite1h: 30, cacheRead: 1.5, output: 75,
    source: `${CLAUDE_PRICING} (official pricing page, "Claude Opus 4.1 (retired, except on Bedrock and Google Cloud)")`,
    asOf: READ,
  },
  {
    model: 'claude-opus-4', input: 15, cacheWrite: 18.75, cacheWrite1h: 30, cacheRead: 1.5, output: 75,
    source: `${CLAUDE_PRICING} (official pricing page, "Claude Opus 4 (retired, except on Google Cloud)")`,
    asOf: READ,
  },
  {
    model: 'claude-sonnet-4-5', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source:
      `${CLAUDE_PRICING_46} (official pricing page, "Claude Sonnet 4.5"; ${CLAUDE_MODELS}/sonnet-4-5/overview: deprecated, retires 2026-11-30). ` +
      'Requests over 200K input tokens (1M-context beta) bill $6 / $22.50; not represented',
    asOf: READ,
  },
  {
    model: 'claude-sonnet-4', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source:
      `${CLAUDE_PRICING_46} (official pricing page, "Claude Sonnet 4"). ` +
      'Requests over 200K input tokens (1M-context beta) bill $6 / $22.50; not represented',
    asOf: READ,
  },
  {
    model: 'claude-3-7-sonnet', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Sonnet 3.7 (deprecated)"; no longer listed on the current version)`,
    asOf: READ,
  },
  {
    model: 'claude-3-5-sonnet', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source: `${CLAUDE_PRICING_OLD} (official pricing page, older version: "Claude Sonnet 3.5 (deprecated)"; no longer listed on later versions)`,
    asOf: READ,
  },
  {
    model: 'claude-haiku-4-5', input: 1, cacheWrite: 1.25, cacheWrite1h: 2, cacheRead: 0.1, output: 5,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Haiku 4.5"; ${CLAUDE_MODELS}/haiku-4-5/overview: legacy, still available)`,
    asOf: READ,
  },
  {
    model: 'claude-3-5-haiku', input: 0.8, cacheWrite: 1, cacheWrite1h: 1.6, cacheRead: 0.08, output: 4,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Haiku 3.5")`,
    asOf: READ,
  },
  {
    model: 'claude-3-haiku', input: 0.25, cacheWrite: 0.3, cacheWrite1h: 0.5, cacheRead: 0.03, output: 1.25,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Haiku 3")`,
    asOf: READ,
  },
  {
    model: 'claude-3-opus', input: 15, cacheWrite: 18.75, cacheWrite1h: 30, cacheRead: 1.5, output: 75,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Opus 3 (deprecated)")`,
    asOf: READ,
  },
  // Newer Claude models whose id and full price card an official page confirms.
  {
    model: 'claude-opus-4-6', input: 5, cacheWrite: 6.25, cacheWrite1h: 10, cacheRead: 0.5, output: 25,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Opus 4.6"); id from ${CLAUDE_MODELS}/opus-4-6/overview.md`,
    asOf: READ,
  },
  {
    model: 'claude-sonnet-4-6', input: 3, cacheWrite: 3.75, cacheWrite1h: 6, cacheRead: 0.3, output: 15,
    source: `${CLAUDE_PRICING_46} (official pricing page, "Claude Sonnet 4.6"); id from https://platform.claude.com/docs/en/about-claude/models/overview.md`,
    asOf: READ,
  },
  {
    model: 'claude-opus-5', input: 5, cacheWrite: 6.25, cacheWrite1h: 10, cacheRead: 0.5, output: 25,
    source: `${CLAUDE_MODELS}/opus-5/overview (official model page: pricing card and id; legacy, still available)`,
    asOf: READ,
  },
  {
    model: 'claude-sonnet-5', input: 2, cacheWrite: 2.5, cacheWrite1h: 4, cacheRead: 0.2, output: 10,
    source: `${CLAUDE_MODELS}/sonnet-5/overview (official model page: pricing card and id; legacy, still available)`,
    asOf: READ,
  },
  {
    model: 'claude-fable-5', input: 10, cacheWrite: 12.5, cacheWrite1h: 20, cacheRead: 1, output: 50,
    source: `${CLAUDE_PRICING} (official pricing page, "Claude Fable 5"); id from ${CLAUDE_MODELS}/fable-5/overview.md`,
    asOf: READ,
  },
]
