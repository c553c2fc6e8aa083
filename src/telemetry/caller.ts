// Who called, as telemetry records it: the attributes every span of a call carries (the key's
// kind, and a named key's id, name and team), and the gateway_key_* metrics that answer "who spent
// what" per key and per team. A Principal never holds the secret (src/keys/principal.ts): nothing
// here can put one in a span or a series.
import type { Attributes, Counter, UpDownCounter } from '@opentelemetry/api'
import type { Spent } from '../core/types.ts'
import type { Principal } from '../keys/principal.ts'
import { lazyInstruments } from './instruments.ts'
import { ATTR, LABEL, METRIC, SERIES_LIMIT } from './names.ts'
import { OVERFLOW, SeriesBudget, seriesKey } from './series-budget.ts'

/** A key's name and team are the operator's, but still bounded as every string on a span. */
const MAX_NAME_LENGTH = 256

const NO_ATTRIBUTES: Attributes = Object.freeze({})

/**
 * The span attributes of a caller. No key configured (`open`), or no principal yet: none. A key
 * of GATEWAY_API_KEYS: only `gateway.key.kind=unnamed`, so unattributed traffic can be found too.
 */
export function callerAttributes(caller: Principal | undefined): Attributes {
  if (!caller || caller.kind === 'open') return NO_ATTRIBUTES
  const attributes: Attributes = { [ATTR.keyKind]: caller.kind }
  if (caller.id !== undefined) attributes[ATTR.keyId] = caller.id.slice(0, MAX_NAME_LENGTH)
  if (caller.name !== undefined) attributes[ATTR.keyName] = caller.name.slice(0, MAX_NAME_LENGTH)
  if (caller.team !== undefined) attributes[ATTR.keyTeam] = caller.team.slice(0, MAX_NAME_LENGTH)
  return attributes
}

interface KeyInstruments {
  requests: Counter
  tokens: Counter
  spendUsd: UpDownCounter
}

const keyInstruments = lazyInstruments(
  (meter): KeyInstruments => ({
    requests: meter.createCounter(METRIC.keyRequests, {
      description: 'LLM requests per named gateway key (failed, cancelled and cache hits included)',
      unit: '{request}',
    }),
    tokens: meter.createCounter(METRIC.keyTokens, {
      description: 'Tokens used per named gateway key, by type (input, output); a cancelled stream counts what it used',
      unit: '{token}',
    }),
    spendUsd: meter.createUpDownCounter(METRIC.keySpendUsd, {
      description: 'Spend per named gateway key in US dollars, as budgets count it (only ever increases)',
    }),
  }),
)

/** The (key_name, key_team) pairs with series of their own. */
const keySeries = new SeriesBudget(SERIES_LIMIT.keys)

/**
 * Counts one finished model call for its caller, from what it used (`Spent`, the figure budgets
 * count: a cancelled stream's usage so far, a cache hit's $0). Only named keys have series: an
 * unnamed key (GATEWAY_API_KEYS) or an open gateway is in the llm_* totals alone.
 */
export function countKeyUsage(caller: Principal | undefined, spent: Spent): void {
  if (caller?.kind !== 'named' || caller.name === undefined) return
  const name = caller.name.slice(0, MAX_NAME_LENGTH)
  const team = caller.team?.slice(0, MAX_NAME_LENGTH)
  const labels = keySeries.labels(seriesKey(name, team), team === undefined ? { [LABEL.keyName]: name } : { [LABEL.keyName]: name, [LABEL.keyTeam]: team })
  const m = keyInstruments()
  m.requests.add(1, labels)
  if (spent.usage) {
    m.tokens.add(spent.usage.input, labels === OVERFLOW ? OVERFLOW : { ...labels, [LABEL.tokenType]: 'input' })
    m.tokens.add(spent.usage.output, labels === OVERFLOW ? OVERFLOW : { ...labels, [LABEL.tokenType]: 'output' })
  }
  if (spent.costUsd !== undefined) m.spendUsd.add(spent.costUsd, labels)
}
