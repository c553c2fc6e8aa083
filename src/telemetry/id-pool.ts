// The ids of the gateway's spans (gateway-tracer.ts).
import { randomFillSync } from 'node:crypto'

/**
 * Random trace and span ids, cut from a pool of random bytes made hex at once (64 trace ids or 128
 * span ids a refill). The SDK's RandomIdGenerator draws each id from Math.random and makes it hex
 * on its own (five native calls a request); ids are never all zeros (an invalid id).
 */
export class IdPool {
  private hex = ''
  private at = 0
  private readonly bytes = Buffer.allocUnsafe(1024)
  private readonly fill: (bytes: Buffer) => Buffer

  /** `fill`: what makes the bytes random (a test's own). */
  constructor(fill: (bytes: Buffer) => Buffer = randomFillSync) {
    this.fill = fill
  }

  generateTraceId(): string {
    return this.next(32)
  }

  generateSpanId(): string {
    return this.next(16)
  }

  private next(chars: number): string {
    for (;;) {
      if (this.at + chars > this.hex.length) {
        this.hex = this.fill(this.bytes).toString('hex')
        this.at = 0
      }
      const id = this.hex.slice(this.at, this.at + chars)
      this.at += chars
      if (id !== ZERO_IDS[chars]) return id
    }
  }
}

const ZERO_IDS: Record<number, string> = { 16: '0'.repeat(16), 32: '0'.repeat(32) }
