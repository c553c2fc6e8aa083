// gateway_limits_store_lapses_total: the calls whose rate limits and budgets could not be checked
// (admit) or counted (settle) because their store, Redis, failed. With
// GATEWAY_LIMITS_ON_REDIS_ERROR=serve such calls are answered unchecked: this counter is how an
// operator sees how much went through while the limits were blind.
import type { Counter } from '@opentelemetry/api'
import { lazyInstruments } from './instruments.ts'
import { LABEL, METRIC } from './names.ts'

const lapses = lazyInstruments(
  (meter): Counter =>
    meter.createCounter(METRIC.limitsStoreLapses, {
      description: 'Model calls whose rate limits and budgets the store (Redis) failed to check or count',
      unit: '{call}',
    }),
)

export function countLimitsLapse(operation: 'admit' | 'settle', outcome: 'served' | 'refused'): void {
  lapses().add(1, { [LABEL.limitsOperation]: operation, [LABEL.limitsOutcome]: outcome })
}
