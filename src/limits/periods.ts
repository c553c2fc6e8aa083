// The time windows limits and budgets count in, all in UTC and all fixed (aligned on the clock):
// rate limits per minute, budgets per day and per calendar month. A fixed window makes one counter
// per window (one atomic INCR, a TTL that drops it afterwards) and an exact reset time for
// OpenAI's `x-ratelimit-reset-*` and Anthropic's `anthropic-ratelimit-*-reset`: the caller knows
// when to come back. The price is the edge: a caller can spend a full minute's allowance at the
// end of one window and again at the start of the next (at most twice the rate over a minute
// that straddles them). A sliding log would avoid it at a counter per request; budgets, which
// reset by the calendar, are fixed windows by nature.
// Every replica reads its own clock: replicas are expected to keep time (NTP), a skew of a few
// milliseconds only moves which window a request at the edge lands in.

export const MINUTE_MS = 60_000

export interface Period {
  /** Part of the counter's name: `2026-12-05`, `2026-12`, or the minute's start in ms. */
  id: string
  /** When the next period begins. */
  resetsAt: number
  /** How long the counter is kept: to its period's end, plus a margin for late settles. */
  ttlMs: number
}

/** The minute `now` falls in. A call settled in the next minute is counted there. */
export function minuteOf(now: number): Period {
  const start = now - (now % MINUTE_MS)
  return { id: String(start), resetsAt: start + MINUTE_MS, ttlMs: start + 2 * MINUTE_MS - now }
}

/** The UTC day `now` falls in. */
export function dayOf(now: number): Period {
  const date = new Date(now)
  const resetsAt = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1)
  return { id: date.toISOString().slice(0, 10), resetsAt, ttlMs: resetsAt - now + 3_600_000 }
}

/** The UTC calendar month `now` falls in. */
export function monthOf(now: number): Period {
  const date = new Date(now)
  const resetsAt = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)
  return { id: date.toISOString().slice(0, 7), resetsAt, ttlMs: resetsAt - now + 3_600_000 }
}

/** A wait as OpenAI writes it in `x-ratelimit-reset-*`: `20ms`, `1.5s`, `6m0s`. */
export function openAiDuration(ms: number): string {
  const wait = Math.max(0, Math.ceil(ms))
  if (wait < 1_000) return `${wait}ms`
  if (wait < MINUTE_MS) return `${Math.round(wait / 10) / 100}s`
  const seconds = Math.ceil(wait / 1_000)
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`
}

/** `retry-after` in whole seconds, at least 1 (0 would invite a retry that is refused again). */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1_000)))
}
