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
  /**
   * The bytes `hex` was made from, a new buffer each refill: the contexts of ids cut from it point
   * into it (OwnSpanContext), and the span records copy the ids from there instead of parsing hex.
   */
  lastBytes: Buffer = NO_BYTES
  /** Where the id returned last begins in `lastBytes`. */
  lastAt = 0
  /** The last trace id made for a root span, and where its bytes lie. */
  private rootTraceId = ''
  private rootBytes: Buffer = NO_BYTES
  private rootAt = 0
  private readonly fill: (bytes: Buffer) => Buffer

  /** `fill`: what makes the bytes random (a test's own). */
  constructor(fill: (bytes: Buffer) => Buffer = randomFillSync) {
    this.fill = fill
  }

  /** The trace id of a new span: its valid parent's, or a new one. */
  traceIdUnder(parent: SpanContext | undefined): string {
    if (parent) return parent.traceId
    this.rootTraceId = this.generateTraceId()
    this.rootBytes = this.lastBytes
    this.rootAt = this.lastAt
    return this.rootTraceId
  }

  /**
   * The context of a new span of `traceId` (from traceIdUnder) under `parent`, with a new span id.
   * The trace id's bytes are its parent's, or those of the root trace id made last if it is that
   * one; none otherwise (a caller's trace id, or a root made in between, by a sampler say).
   */
  context(traceId: string, traceFlags: number, traceState: TraceState | undefined, parent: SpanContext | undefined): OwnSpanContext {
    let traceBytes: Buffer | undefined
    let traceAt = 0
    if (parent instanceof OwnSpanContext) {
      traceBytes = parent.traceBytes
      traceAt = parent.traceAt
    } else if (!parent && traceId === this.rootTraceId) {
      traceBytes = this.rootBytes
      traceAt = this.rootAt
    }
    const spanId = this.generateSpanId()
    return new OwnSpanContext(traceId, spanId, traceFlags, traceState, traceBytes, traceAt, this.lastBytes, this.lastAt)
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
        this.lastBytes = this.fill(Buffer.allocUnsafe(POOL_BYTES))
        this.hex = this.lastBytes.toString('hex')
        this.at = 0
      }
      const id = this.hex.slice(this.at, this.at + chars)
      this.lastAt = this.at >>> 1
      this.at += chars
      if (id !== ZERO_IDS[chars]) return id
    }
  }
}

const ZERO_IDS: Record<number, string> = { 16: '0'.repeat(16), 32: '0'.repeat(32) }
const POOL_BYTES = 4096
const NO_BYTES = Buffer.alloc(0)

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
  /** The ids' bytes where the pool made them (IdPool.lastBytes), for the span records; `traceBytes` is undefined for a trace id that came from elsewhere (a caller's traceparent). */
  readonly traceBytes: Buffer | undefined
  readonly traceAt: number
  readonly spanBytes: Buffer | undefined
  readonly spanAt: number

  constructor(traceId: string, spanId: string, traceFlags: number, traceState: TraceState | undefined, traceBytes?: Buffer, traceAt = 0, spanBytes?: Buffer, spanAt = 0) {
    this.traceId = traceId
    this.spanId = spanId
    this.traceFlags = traceFlags
    this.traceState = traceState
    this.traceBytes = traceBytes
    this.traceAt = traceAt
    this.spanBytes = spanBytes
    this.spanAt = spanAt
  }
}

/** isSpanContextValid(), answered at once for the gateway's own contexts. */
export function isValidSpanContext(context: SpanContext): boolean {
  return context instanceof OwnSpanContext || isSpanContextValid(context)
}
