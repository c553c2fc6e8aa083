// gateway_requests_unauthenticated_total: the only trace an unauthenticated caller leaves. Its
// requests get no span (see src/auth.ts and setup.ts), so this counter is how an operator sees them.
import type { Counter } from '@opentelemetry/api'
import type { AuthResult } from '../auth.ts'
import { lazyInstruments } from './instruments.ts'
import { LABEL, METRIC } from './names.ts'

const unauthenticated = lazyInstruments(
  (meter): Counter =>
    meter.createCounter(METRIC.unauthenticated, { description: 'Requests refused for want of a valid gateway key', unit: '{request}' }),
)

export function countUnauthenticated(reason: Exclude<AuthResult, 'ok'>): void {
  unauthenticated().add(1, { [LABEL.authFailure]: reason })
}
