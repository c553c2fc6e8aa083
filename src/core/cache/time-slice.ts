// Long work on what the cache holds (writing out, reading back or replaying a stream of 100,000
// events) has nothing to wait for, so it would run in one go and hold up every other caller.
// Such loops check a TimeSlice on each step and let the event loop run once it is used up.
import { setImmediate as immediate } from 'node:timers/promises'

/** How long such a loop may run before it lets others in. */
export const SLICE_MS = 10

export class TimeSlice {
  private started = performance.now()

  /** Whether the slice is used up: then `await pause()`. */
  get over(): boolean {
    return performance.now() - this.started > SLICE_MS
  }

  /** Lets the event loop serve what waits (I/O, timers), then starts a new slice. */
  async pause(): Promise<void> {
    await immediate()
    this.started = performance.now()
  }
}
