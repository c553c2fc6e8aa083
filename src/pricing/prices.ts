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
// need their own row (see gpt-4o-2024-05-13, gpt-3.5-turbo-1106 / -0613 in OpenAI's rows).
//
// The rows live beside each provider (src/providers/<name>/prices.ts), in this shape and by these
// conventions; the provider registry (src/providers/registry.ts) says whose they are and joins
// them into the one table the price book is built from.
import type { Price } from './cost.ts'

/** One model's list price, as a provider's folder states it. */
export interface ModelPrice extends Price {
  /** Model id as sent to / reported by the provider, without a date suffix unless the snapshot has its own price. */
  model: string
  /** Where the numbers came from: URL of the page read, and any caveat. */
  source: string
  /** Date shown on the source, or "read YYYY-MM-DD" when the page showed none. */
  asOf: string
}

/** A row of the joined table: a model's price and the provider it belongs to (its registry name). */
export interface PriceRow extends ModelPrice {
  provider: string
}

/** The date the pages behind the rows were read (see above). */
export const READ = 'read 2026-11-24'
