// Where limits and budgets keep their counters: this process' memory (the default, nothing to
// install) or Redis (REDIS_URL: every replica shares one count, see redis-store.ts). Both do an
// admission in one step: every gate is read and, only if none is full, the request counters are
// increased, so two concurrent requests (or two replicas) never both take the last unit.

/** A counter an admission checks: refused when its value is already at or past `limit`. */
export interface Gate {
  key: string
  limit: number
  /** Added when admitted: 1 for a request counter, 0 for tokens and spend (added when the call settles). */
  increment: number
  ttlMs: number
}

export interface Admission {
  /** The index of the first full gate, or -1 when admitted (and the increments applied). */
  refused: number
  /** Each gate's value before this admission. */
  values: number[]
}

export interface Amount {
  key: string
  amount: number
  ttlMs: number
}

export interface LimitStore {
  readonly kind: 'memory' | 'redis'
  admit(gates: Gate[]): Promise<Admission>
  /** Adds what a settled call used (tokens, USD) to its counters. */
  add(amounts: Amount[]): Promise<void>
  /** The counters' values (0 for one that does not exist). */
  read(keys: string[]): Promise<number[]>
  close(): Promise<void>
}

/** How often expired counters are swept from memory, at the latest. */
const SWEEP_EVERY_MS = 60_000

/** One process' counters: JavaScript runs one admission at a time, which makes it atomic. */
export class MemoryLimitStore implements LimitStore {
  readonly kind = 'memory'
  private readonly counters = new Map<string, { value: number; expiresAt: number }>()
  private nextSweep = 0
  private readonly now: () => number

  constructor(now: () => number = Date.now) {
    this.now = now
  }

  async admit(gates: Gate[]): Promise<Admission> {
    const values = gates.map((gate) => this.value(gate.key))
    const refused = gates.findIndex((gate, i) => values[i]! >= gate.limit)
    if (refused < 0) for (const gate of gates) if (gate.increment > 0) this.increase(gate.key, gate.increment, gate.ttlMs)
    return { refused, values }
  }

  async add(amounts: Amount[]): Promise<void> {
    for (const { key, amount, ttlMs } of amounts) this.increase(key, amount, ttlMs)
  }

  async read(keys: string[]): Promise<number[]> {
    return keys.map((key) => this.value(key))
  }

  async close(): Promise<void> {}

  private value(key: string): number {
    const counter = this.counters.get(key)
    return counter && counter.expiresAt > this.now() ? counter.value : 0
  }

  /** As Redis' INCRBY with an expiry set when the counter is made: a window's counter ends with it. */
  private increase(key: string, amount: number, ttlMs: number): void {
    const now = this.now()
    this.sweep(now)
    const counter = this.counters.get(key)
    if (counter && counter.expiresAt > now) counter.value += amount
    else this.counters.set(key, { value: amount, expiresAt: now + ttlMs })
  }

  /** Counters of past windows go, so memory holds only the current ones (keys × windows). */
  private sweep(now: number): void {
    if (now < this.nextSweep) return
    this.nextSweep = now + SWEEP_EVERY_MS
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key)
  }
}
