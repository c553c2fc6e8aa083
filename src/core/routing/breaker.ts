// A circuit breaker per target of a route group: `failures` failures within `windowMs` open it,
// and the group skips the target for `cooldownMs`; then one call is let through as a probe
// (half-open). The probe's success closes the breaker, its failure opens it for another cooldown.
// What counts as a failure is the dispatch's call: only what would make a call move on (429, 5xx,
// a connection error, no answer in time), never the caller's own mistakes.
//
// Every `acquire()` that returns true is followed by exactly one of succeeded / failed / released
// (the dispatch's contract). Outcomes carry no identity, so calls let through while the breaker
// was closed may report after it opened ("stale" calls). They are counted (`outstanding`) so
// that such a report can never free a second probe while the first is out: the probe slot is
// given back only when its end is certain (nothing else out), or by any success (the upstream
// answered: the breaker closes) or failure (it cools down again). A stale success closes the
// breaker and a stale failure during the probe reopens it: both are news about the upstream.

export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerSettings {
  failures: number
  windowMs: number
  cooldownMs: number
}

export interface BreakerSnapshot {
  state: BreakerState
  /** Failures counted in the current window (closed), for the operator. */
  recentFailures: number
  /** When the cooldown ends (epoch ms), while it runs. */
  cooldownUntil: number | undefined
}

export class Breaker {
  private readonly settings: BreakerSettings
  private readonly now: () => number
  /** Times of the failures within the window, oldest first. */
  private failures: number[] = []
  private openUntil = 0
  /** The half-open probe is out (no other call may take the target). */
  private probing = false
  /** Calls let through whose outcome has not been reported yet (the probe included). */
  private outstanding = 0

  constructor(settings: BreakerSettings, now: () => number = Date.now) {
    this.settings = settings
    this.now = now
  }

  state(): BreakerState {
    if (this.openUntil === 0) return 'closed'
    return this.now() < this.openUntil ? 'open' : 'half_open'
  }

  /** Whether a call could be sent now (closed, or half-open with no probe out); takes nothing. */
  available(): boolean {
    const state = this.state()
    return state === 'closed' || (state === 'half_open' && !this.probing)
  }

  /** Takes the right to send one call: always when closed, the one probe when half-open. */
  acquire(): boolean {
    const state = this.state()
    if (state === 'open' || (state === 'half_open' && this.probing)) return false
    if (state === 'half_open') this.probing = true
    this.outstanding++
    return true
  }

  /** The upstream answered (or refused the caller's request itself: it is up). */
  succeeded(): void {
    this.reported()
    this.failures = []
    this.openUntil = 0
    this.probing = false
  }

  /** The attempt ended without a verdict on the upstream (the caller left): a probe may be sent again. */
  released(): void {
    this.reported()
    // With other calls still out this may have been one of them, not the probe: keep the slot
    // taken until they end too (each ends by its deadline), rather than let a second probe out.
    if (this.outstanding === 0) this.probing = false
  }

  failed(): void {
    this.reported()
    const now = this.now()
    const state = this.state()
    if (state === 'half_open') {
      // The probe failed (or a call older than it did, while it is out): another full cooldown.
      this.openUntil = now + this.settings.cooldownMs
      if (this.outstanding === 0) this.probing = false
      return
    }
    // A call let through before the breaker opened: the cooldown already runs, it is not extended.
    if (state === 'open') return
    const since = now - this.settings.windowMs
    let drop = 0
    while (drop < this.failures.length && this.failures[drop]! <= since) drop++
    if (drop > 0) this.failures.splice(0, drop)
    this.failures.push(now)
    if (this.failures.length >= this.settings.failures) {
      this.openUntil = now + this.settings.cooldownMs
      this.failures = []
    }
  }

  snapshot(): BreakerSnapshot {
    const state = this.state()
    const since = this.now() - this.settings.windowMs
    return {
      state,
      recentFailures: state === 'closed' ? this.failures.filter((at) => at > since).length : 0,
      cooldownUntil: state === 'open' ? this.openUntil : undefined,
    }
  }

  private reported(): void {
    if (this.outstanding > 0) this.outstanding--
  }
}
