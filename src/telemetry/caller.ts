// Who called, as telemetry records it: the attributes every span of a call carries (the key's
// kind, and a named key's id, name and team), and the gateway_key_* metrics that answer "who spent
// what" per key and per team. A Principal never holds the secret (src/keys/principal.ts): nothing
// here can put one in a span or a series.
import type { Attributes } from '@opentelemetry/api'
import type { Spent } from '../core/types.ts'
import type { Principal } from '../keys/principal.ts'
import { ATTR, LABEL, METRIC, SERIES_LIMIT } from './names.ts'
import { counter, LabelSet, OVERFLOW, upDownCounter } from './series.ts'
import { AttributePairs } from './span-values.ts'
import { SeriesBudget, seriesKey } from './series-budget.ts'

/** A key's name and team are the operator's, but still bounded as every string on a span. */
const MAX_NAME_LENGTH = 256

const NO_ATTRIBUTES: Attributes = Object.freeze({})

/**
 * The span attributes of a caller, added to a span's first attributes. No key configured (`open`),
 * or no principal yet: none. A key of GATEWAY_API_KEYS: only `gateway.key.kind=unnamed`, so
 * unattributed traffic can be found too.
 */
export function addCallerAttributes(pairs: AttributePairs, caller: Principal | undefined): AttributePairs {
  if (!caller || caller.kind === 'open') return pairs
  pairs.add(ATTR.keyKind, caller.kind)
  if (caller.id !== undefined) pairs.add(ATTR.keyId, caller.id.slice(0, MAX_NAME_LENGTH))
  if (caller.name !== undefined) pairs.add(ATTR.keyName, caller.name.slice(0, MAX_NAME_LENGTH))
  if (caller.team !== undefined) pairs.add(ATTR.keyTeam, caller.team.slice(0, MAX_NAME_LENGTH))
  return pairs
}

/** addCallerAttributes() as an object. */
export function callerAttributes(caller: Principal | undefined): Attributes {
  return !caller || caller.kind === 'open' ? NO_ATTRIBUTES : addCallerAttributes(new AttributePairs(), caller).toObject()
}

const KEY_METRICS = {
  requests: counter(
    METRIC.keyRequests,
    'LLM requests per named gateway key (failed, cancelled and cache hits included)',
    '{request}',
  ),
  tokens: counter(
    METRIC.keyTokens,
    'Tokens used per named gateway key, by type (input, output); a cancelled stream counts what it used',
    '{token}',
  ),
  spendUsd: upDownCounter(METRIC.keySpendUsd, 'Spend per named gateway key in US dollars, as budgets count it (only ever increases)'),
}

/** The (key_name, key_team) pairs with series of their own. */
const keySeries = new SeriesBudget(SERIES_LIMIT.keys)

/** A key's label sets: its own, and its tokens' by type. */
interface KeySets {
  key: LabelSet
  input: LabelSet
  output: LabelSet
}

const KEY_OVERFLOW: KeySets = { key: OVERFLOW, input: OVERFLOW, output: OVERFLOW }
// Only admitted keys are kept: as bounded as the budget.
const keySets = new Map<string, KeySets>()

function keyLabels(name: string, team: string | undefined): KeySets {
  const key = seriesKey(name, team)
  const found = keySets.get(key)
  if (found !== undefined) return found
  if (!keySeries.admits(key)) return KEY_OVERFLOW
  const attributes: Attributes = team === undefined ? { [LABEL.keyName]: name } : { [LABEL.keyName]: name, [LABEL.keyTeam]: team }
  const made: KeySets = {
    key: new LabelSet(attributes),
    input: new LabelSet({ ...attributes, [LABEL.tokenType]: 'input' }),
    output: new LabelSet({ ...attributes, [LABEL.tokenType]: 'output' }),
  }
  keySets.set(key, made)
  return made
}

/**
 * Counts one finished model call for its caller, from what it used (`Spent`, the figure budgets
 * count: a cancelled stream's usage so far, a cache hit's $0). Only named keys have series: an
 * unnamed key (GATEWAY_API_KEYS) or an open gateway is in the llm_* totals alone.
 */
export function countKeyUsage(caller: Principal | undefined, spent: Spent): void {
  if (caller?.kind !== 'named' || caller.name === undefined) return
  const sets = keyLabels(caller.name.slice(0, MAX_NAME_LENGTH), caller.team?.slice(0, MAX_NAME_LENGTH))
  sets.key.add(KEY_METRICS.requests, 1)
  if (spent.usage) {
    sets.input.add(KEY_METRICS.tokens, spent.usage.input)
    sets.output.add(KEY_METRICS.tokens, spent.usage.output)
  }
  if (spent.costUsd !== undefined) sets.key.add(KEY_METRICS.spendUsd, spent.costUsd)
}
