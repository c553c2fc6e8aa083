// gateway_requests_unauthenticated_total: the only trace an unauthenticated caller leaves. Its
// requests get no span (see src/auth.ts and setup.ts), so this counter is how an operator sees them.
import type { AuthResult } from '../auth.ts'
import { LABEL, METRIC } from './names.ts'
import { counter, LabelSet } from './series.ts'

const unauthenticated = counter(METRIC.unauthenticated, 'Requests refused for want of a valid gateway key', '{request}')

const sets = new Map<string, LabelSet>()

export function countUnauthenticated(reason: Exclude<AuthResult, 'ok'>): void {
  let found = sets.get(reason)
  if (found === undefined) {
    found = new LabelSet({ [LABEL.authFailure]: reason })
    sets.set(reason, found)
  }
  found.add(unauthenticated, 1)
}
