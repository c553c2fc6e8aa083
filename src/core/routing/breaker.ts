// A circuit breaker per target of a route group: `failures` failures within `windowMs` open it,
// and the group skips the target for `cooldownMs`; then one call is let through as a probe
// (half-open). The probe's success closes the breaker, its failure opens it for another cooldown.
// What counts as a failure is the dispatch's call: only what would make a call move on (429, 5xx,
// a connection error, no answer in time), never the caller's own mistakes.

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
  private probing = false

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
    if (state === 'closed') return true
    if (state === 'open' || this.probing) return false
    this.probing = true
    return true
  }

  /** The upstream answered (or refused the caller's request itself: it is up). */
  succeeded(): void {
    this.failures = []
    this.openUntil = 0
    this.probing = false
  }

  /** The attempt ended without a verdict on the upstream (the caller left): a probe may be sent again. */
  released(): void {
    this.probing = false
  }

  failed(): void {
    const now = this.now()
    if (this.state() !== 'closed') {
      // The probe failed: another full cooldown.
      this.openUntil = now + this.settings.cooldownMs
      this.probing = false
      return
    }
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
}
