// The ids of the gateway's spans (gateway-tracer.ts), and the contexts that carry them.
import { isSpanContextValid, type SpanContext, type TraceState } from '@opentelemetry/api'
import { randomFillSync } from 'node:crypto'

/**
 * Random trace and span ids, cut from a pool of random bytes made hex at once (256 trace ids or 512
 * span ids a refill: a refill costs ~5 µs however small, about 85 requests' ids). The SDK's
 * RandomIdGenerator draws each id from Math.random and makes it hex on its own (five native calls
 * a request); ids are never all zeros (an invalid id).
 */
export class IdPool {
  private hex = ''
  private at = 0
  private readonly bytes = Buffer.allocUnsafe(4096)
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

/**
 * The context of a span of the gateway's tracer: its ids are valid by construction (a valid
 * parent's trace id, or one from the pool, and a span id from the pool), so the API's check, two
 * regular expressions, is left for contexts from elsewhere (a caller's traceparent, another tracer).
 */
export class OwnSpanContext implements SpanContext {
  readonly traceId: string
  readonly spanId: string
  readonly traceFlags: number
  readonly traceState: TraceState | undefined

  constructor(traceId: string, spanId: string, traceFlags: number, traceState: TraceState | undefined) {
    this.traceId = traceId
    this.spanId = spanId
    this.traceFlags = traceFlags
    this.traceState = traceState
  }
}

/** isSpanContextValid(), answered at once for the gateway's own contexts. */
export function isValidSpanContext(context: SpanContext): boolean {
  return context instanceof OwnSpanContext || isSpanContextValid(context)
}
