// gateway_limits_store_lapses_total: the calls whose rate limits and budgets could not be checked
// (admit) or counted (settle) because their store, Redis, failed. With
// GATEWAY_LIMITS_ON_REDIS_ERROR=serve such calls are answered unchecked: this counter is how an
// operator sees how much went through while the limits were blind.
import { LABEL, METRIC } from './names.ts'
import { counter, LabelSet } from './series.ts'

const lapses = counter(METRIC.limitsStoreLapses, 'Model calls whose rate limits and budgets the store (Redis) failed to check or count', '{call}')

type Operation = 'admit' | 'settle'
type Outcome = 'served' | 'refused'

const sets = new Map<string, LabelSet>()

export function countLimitsLapse(operation: Operation, outcome: Outcome): void {
  const key = `${operation} ${outcome}`
  let found = sets.get(key)
  if (found === undefined) {
    found = new LabelSet({ [LABEL.limitsOperation]: operation, [LABEL.limitsOutcome]: outcome })
    sets.set(key, found)
  }
  found.add(lapses, 1)
}
