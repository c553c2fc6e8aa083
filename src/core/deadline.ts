// The caller's signal plus the total timeout of one model call; `explain` says which fired, so an
// abort becomes `cancelled` (caller gone) or `timeout` (504) rather than whatever the SDK threw.
import { GatewayError, asGatewayError } from '../errors.ts'

/**
 * Abort reasons made once: an abort without a reason creates a DOMException with a stack trace,
 * and a mass disconnect would pay for one per request and per signal on the way.
 */
export const CALLER_GONE: Error = Object.assign(new Error('The caller closed the connection'), { name: 'AbortError' })
const TIMED_OUT: Error = Object.assign(new Error('UPSTREAM_TOTAL_TIMEOUT_MS elapsed'), { name: 'AbortError' })

export class Deadline {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout
  private readonly endsAt: number
  private readonly caller: AbortSignal
  private readonly onCallerAbort = () => this.controller.abort(CALLER_GONE)
  private timedOut = false
  /** The limit that ends the work, as the 504 names it. */
  private readonly limit: string

  constructor(caller: AbortSignal, totalMs: number, limit = 'UPSTREAM_TOTAL_TIMEOUT_MS') {
    this.limit = limit
    this.endsAt = performance.now() + totalMs
    this.timer = setTimeout(() => {
      this.timedOut = true
      this.controller.abort(TIMED_OUT)
    }, totalMs)
    this.caller = caller
    if (caller.aborted) this.onCallerAbort()
    else caller.addEventListener('abort', this.onCallerAbort, { once: true })
    this.signal = this.controller.signal
  }

  /** Milliseconds left before the total timeout. */
  remainingMs(): number {
    return this.endsAt - performance.now()
  }

  /** Stops the work at once (what it was doing is abandoned): the upstream request is aborted. */
  abandon(): void {
    this.controller.abort(CALLER_GONE)
    this.clear()
  }

  /** The error to record when the work failed: the deadline's own reason wins over the SDK's. */
  explain(error: unknown): GatewayError {
    if (this.timedOut) return new GatewayError('timeout', `The upstream did not finish within ${this.limit}`)
    if (this.signal.aborted) return new GatewayError('cancelled', 'The caller closed the connection')
    return asGatewayError(error)
  }

  /** The work is over: no timer, and no listener left on the caller's signal (an agent run makes many calls on one). */
  clear(): void {
    clearTimeout(this.timer)
    this.caller.removeEventListener('abort', this.onCallerAbort)
  }
}
