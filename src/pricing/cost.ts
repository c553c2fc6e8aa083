// Token prices and the cost of one exchange: a price book built once from a price table (the
// providers' rows, joined by the provider registry) plus config overrides, and a pure cost
// function. No I/O, no OpenTelemetry, no provider named here.
import type { Usage } from '../core/types.ts'
import type { PriceRow } from './prices.ts'

/** USD per million tokens. Each rate is the full price of one token of that kind. */
export type Price = {
  /** Uncached input (prompt) tokens. */
  input: number
  /** Output tokens, reasoning included. */
  output: number
  /** Input tokens read from the prompt cache. Absent: billed as `input`. */
  cacheRead?: number
  /** Input tokens written to the prompt cache (Anthropic 5-minute TTL). Absent: billed as `input`. */
  cacheWrite?: number
  /** Input tokens written with Anthropic's 1-hour TTL. Absent: billed as `cacheWrite`, else `input`. */
  cacheWrite1h?: number
}

/** Prices from config, keyed `model` (any provider) or `provider/model`. */
export type PriceOverrides = { [model: string]: Price }

export interface Cost {
  /** USD for all prompt tokens: uncached, cache reads and cache writes. */
  input: number
  /** USD for output tokens (reasoning included). */
  output: number
  total: number
}

const PRICE_FIELDS = ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h'] as const

/**
 * A trailing snapshot date: `-2024-08-06` (OpenAI), `-20250514` (Anthropic) or OpenAI's older
 * four-digit `-0613` / `-0125`. Compiled once, here; lookups only run it.
 */
const DATE_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$/

/** The model id without its trailing date suffix, or undefined when it has none. */
export function undatedModel(model: string): string | undefined {
  const match = DATE_SUFFIX.exec(model)
  return match && match.index > 0 ? model.slice(0, match.index) : undefined
}

type ModelMap = Map<string, Price>

/**
 * Looks up the price of a provider's model without ever guessing: the exact model id first, then
 * the id with its trailing date suffix removed, each matched exactly (never by prefix, so `gpt-4o`
 * cannot price `gpt-4o-mini`, nor `gpt-4` price `gpt-4.1`). Overrides from config win over the
 * table: an override for either id is used before any table row. Among overrides, a
 * `provider/model` key wins over a bare `model` key. Unknown models return undefined.
 *
 * Everything is indexed at construction; lookup is a few Map gets and one precompiled regex test.
 */
export class PriceBook {
  readonly #table = new Map<string, ModelMap>()
  readonly #overridesByProvider = new Map<string, ModelMap>()
  readonly #overrides: ModelMap = new Map()

  constructor(rows: readonly PriceRow[], overrides: PriceOverrides = {}) {
    for (const row of rows) {
      const where = `price table row ${row.provider}/${row.model}`
      const models = mapFor(this.#table, row.provider)
      if (models.has(row.model)) throw new Error(`Duplicate ${where}`)
      models.set(row.model, checkedPrice(row, where))
    }
    for (const [key, value] of Object.entries(overrides)) {
      const price = checkedPrice(value, `price override "${key}"`)
      // The whole key is also kept as a bare model id: some model ids contain a slash.
      this.#overrides.set(key, price)
      const slash = key.indexOf('/')
      if (slash > 0 && slash < key.length - 1) {
        mapFor(this.#overridesByProvider, key.slice(0, slash)).set(key.slice(slash + 1), price)
      }
    }
  }

  lookup(provider: string, model: string): Price | undefined {
    const undated = undatedModel(model)
    const scoped = this.#overridesByProvider.get(provider)
    const table = this.#table.get(provider)
    return (
      scoped?.get(model) ??
      this.#overrides.get(model) ??
      (undated === undefined ? undefined : (scoped?.get(undated) ?? this.#overrides.get(undated))) ??
      table?.get(model) ??
      (undated === undefined ? undefined : table?.get(undated))
    )
  }
}

function mapFor(maps: Map<string, ModelMap>, provider: string): ModelMap {
  let models = maps.get(provider)
  if (!models) {
    models = new Map()
    maps.set(provider, models)
  }
  return models
}

/** A frozen copy holding only the price fields, each a finite number ≥ 0 (or absent). */
function checkedPrice(value: unknown, where: string): Price {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${where}: not an object`)
  const source = value as Record<string, unknown>
  const price: Record<string, number> = {}
  for (const field of PRICE_FIELDS) {
    const rate = source[field]
    if (rate === undefined && field !== 'input' && field !== 'output') continue
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
      throw new TypeError(`${where}: ${field} must be a finite number of USD per million tokens, ≥ 0`)
    }
    price[field] = rate
  }
  return Object.freeze(price) as unknown as Price
}

/** A token count as a non-negative number (adapters may hand over 0-defaults; never trust NaN). */
function count(tokens: number): number {
  return Number.isFinite(tokens) && tokens > 0 ? tokens : 0
}

/**
 * Rounds a USD amount to 1e-10 (a ten-thousandth of a micro-dollar). Prices are published with
 * at most 4 decimals per million tokens, so every exact cost is a whole multiple of 1e-10 USD;
 * the few multiplications and additions below add binary floating-point error many orders of
 * magnitude smaller than that, so rounding returns the exact decimal amount (as the nearest
 * double, e.g. 0.00030735 rather than 0.00030734999999999997). Exact up to ~$900,000 per
 * exchange, far beyond any single call (beyond that the scaled value would pass 2^53).
 */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e10) / 1e10
}

/**
 * The cost in USD of one exchange's usage at `price`:
 *
 *   input  = uncached × input + cacheRead × (cacheRead ?? input)
 *          + (cacheWrite − cacheWrite1h) × (cacheWrite ?? input)
 *          + cacheWrite1h × (cacheWrite1h ?? cacheWrite ?? input)
 *   where uncached = input tokens − cacheRead − cacheWrite, floored at 0
 *   output = output tokens × output        (reasoning tokens are part of output)
 *
 * Sums are taken in token × USD-per-million (micro-dollars) and divided by 10^6 once, then
 * rounded (see roundUsd). `cacheWrite1h` larger than `cacheWrite` is read as all of it.
 */
export function computeCost(usage: Usage, price: Price): Cost {
  const cacheRead = count(usage.cacheRead)
  const cacheWrite = count(usage.cacheWrite)
  const cacheWrite1h = Math.min(count(usage.cacheWrite1h), cacheWrite)
  const uncached = Math.max(0, count(usage.input) - cacheRead - cacheWrite)

  const readRate = price.cacheRead ?? price.input
  const writeRate = price.cacheWrite ?? price.input
  const write1hRate = price.cacheWrite1h ?? price.cacheWrite ?? price.input

  const inputMicro =
    uncached * price.input +
    cacheRead * readRate +
    (cacheWrite - cacheWrite1h) * writeRate +
    cacheWrite1h * write1hRate
  const outputMicro = count(usage.output) * price.output

  const input = roundUsd(inputMicro / 1e6)
  const output = roundUsd(outputMicro / 1e6)
  return { input, output, total: roundUsd(input + output) }
}
