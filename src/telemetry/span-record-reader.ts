// The telemetry worker's side of span-records.ts: batches of records back into spans, which the
// worker's encoder, export processor and trace store read as they read the SDK's.
import type { AttributeValue, Attributes, HrTime, Link, SpanContext, TraceState } from '@opentelemetry/api'
import type { TimedEvent } from '@opentelemetry/sdk-trace'
import {
  F_KIND, F_PARENT, F_PARENT_REMOTE, F_REMOTE, F_SAME_KEYS, F_STATUS_MESSAGE, F_TRACE_STATE,
  K_RESET, K_RESOURCE, K_SCOPE, K_SPAN, K_TEXT,
  T_ARRAY, T_BYTES, T_FALSE, T_MAP, T_NUMBER, T_SAME, T_STRING, T_TRUE,
  type Resource, type Scope,
} from './span-records.ts'
import { ID_BYTES, PARENT_ID_AT, RecordContext, RecordSpan, SPAN_ID_AT, SPAN_ID_BYTES, TRACE_ID_BYTES } from './record-span.ts'

const MAX_KNOWN_SCOPES = 1024
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const utf8 = new TextDecoder()

/** The resource the spans carry; pending while the main thread's detectors have not all answered. */
class HandedResource {
  attributes: Attributes
  schemaUrl: string | undefined
  asyncAttributesPending: boolean
  private settle: (() => void) | undefined
  private readonly settled: Promise<void>

  constructor(attributes: Attributes, schemaUrl: string | undefined, pending: boolean) {
    this.attributes = attributes
    this.schemaUrl = schemaUrl
    this.asyncAttributesPending = pending
    this.settled = pending ? new Promise((resolve) => (this.settle = resolve)) : Promise.resolve()
  }

  waitForAsyncAttributes(): Promise<void> {
    return this.settled
  }

  final(attributes: Attributes): void {
    this.attributes = attributes
    this.asyncAttributesPending = false
    this.settle?.()
  }
}

/** A trace state as it was serialised: all the encoder asks of it. */
function traceStateOf(serialized: string): TraceState {
  return { serialize: () => serialized } as TraceState
}

export class RecordReader {
  /**
   * Set when a batch could not be read whole: the writer's tables and these may be out of step,
   * so entries are skipped until the writer starts again (K_RESET, after it was told to resync).
   */
  private lost = false
  private texts: string[] = []
  private names: { keys: string[]; values: AttributeValue[] }[] = []
  private scopes: Scope[] = []
  /** One object per scope seen, so that spans of a scope group together in an export whatever the resets. */
  private readonly knownScopes = new Map<string, Scope>()
  private resource: HandedResource | undefined
  private local = new Uint8Array(64 * 1024)
  private localView = new DataView(this.local.buffer)
  private bytes: Uint8Array = this.local
  private view = this.localView
  private pos = 0

  /** Forgets every definition (the writer was told to start again, and writes K_RESET first). */
  forget(): void {
    this.texts = []
    this.names = []
    this.scopes = []
  }

  /**
   * Each span of a batch to `take`. A batch in the shared ring is copied first (TextDecoder does
   * not read shared memory); one that came by message is read where it is.
   */
  batch(batch: Uint8Array, take: (span: RecordSpan) => void): void {
    if (batch.buffer instanceof SharedArrayBuffer) {
      if (batch.length > this.local.length) {
        this.local = new Uint8Array(Math.max(batch.length, 2 * this.local.length))
        this.localView = new DataView(this.local.buffer)
      }
      this.local.set(batch)
      this.bytes = this.local
      this.view = this.localView
    } else {
      this.bytes = batch
      this.view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength)
    }
    let at = 0
    try {
      while (at < batch.length) {
        const length = this.view.getUint32(at, true)
        const kind = this.view.getUint32(at + 4, true)
        this.pos = at + 8
        at += 8 + length
        if (kind === K_RESET) {
          this.forget()
          this.lost = false
        } else if (this.lost) continue
        else this.entry(kind, take)
      }
    } catch (error) {
      this.lost = true
      throw error
    }
  }

  private entry(kind: number, take: (span: RecordSpan) => void): void {
    if (kind === K_SPAN) take(this.span())
    else if (kind === K_TEXT) this.texts[this.u32()] = this.string()
    else if (kind === K_SCOPE) this.scope()
    else if (kind === K_RESOURCE) this.defineResource()
  }

  private scope(): void {
    const index = this.u32()
    const name = this.string()
    const version = this.optionalString()
    const schemaUrl = this.optionalString()
    const attributes = this.value() as Attributes | null
    const droppedAttributesCount = this.u32()
    const key = `${name}\n${version ?? ''}\n${schemaUrl ?? ''}`
    let scope = this.knownScopes.get(key)
    if (!scope) {
      // Bounded like the writer's tables: past this, scopes seen long ago are made anew.
      if (this.knownScopes.size >= MAX_KNOWN_SCOPES) this.knownScopes.clear()
      scope = { name, version, schemaUrl, ...(attributes ? { attributes } : {}), ...(droppedAttributesCount ? { droppedAttributesCount } : {}) } as Scope
      this.knownScopes.set(key, scope)
    }
    this.scopes[index] = scope
  }

  private defineResource(): void {
    const pending = this.u8() === 1
    const schemaUrl = this.optionalString()
    const attributes = (this.value() ?? {}) as Attributes
    if (!this.resource) this.resource = new HandedResource(attributes, schemaUrl, pending)
    else if (this.resource.asyncAttributesPending && !pending) this.resource.final(attributes)
  }

  private span(): RecordSpan {
    const nameId = this.u32()
    const scope = this.scopes[this.u32()]
    if (!scope) throw new Error('span record names a scope never defined')
    const name = this.texts[nameId]
    if (name === undefined) throw new Error('span record names a name never defined')
    const kind = this.u8()
    const flags = this.u8()
    const statusCode = this.u8()
    const traceFlags = this.u8()
    const [ids, context, parent] = this.contexts(flags & F_PARENT, traceFlags)
    const traceState = flags & F_TRACE_STATE ? traceStateOf(this.string()) : undefined
    const startTime = this.time()
    const endTime = this.time()
    const droppedAttributes = this.u32()
    const droppedEvents = this.u32()
    const droppedLinks = this.u32()
    const message = flags & F_STATUS_MESSAGE ? this.string() : undefined
    const count = this.u32()
    let state = this.names[nameId]
    // The writer's tables and these are out of step (a batch not read whole): nothing after can be trusted.
    if (flags & F_SAME_KEYS && !state) throw new Error('span record names keys never defined')
    if (!(flags & F_SAME_KEYS) || !state) {
      const keys: string[] = new Array(count)
      for (let i = 0; i < count; i++) keys[i] = this.texts[this.u32()]!
      state = this.names[nameId] = { keys, values: new Array(count) }
    }
    const last = state.values
    const values: AttributeValue[] = new Array(count)
    for (let i = 0; i < count; i++) {
      if (this.bytes[this.pos] === T_SAME) {
        this.pos++
        values[i] = last[i]!
      } else values[i] = last[i] = this.value() as AttributeValue
    }
    const events: TimedEvent[] = new Array(this.u32())
    for (let i = 0; i < events.length; i++) {
      events[i] = { name: this.string(), time: this.time(), attributes: (this.value() ?? undefined) as Attributes | undefined, droppedAttributesCount: this.u32() }
    }
    const links: Link[] = new Array(this.u32())
    for (let i = 0; i < links.length; i++) links[i] = this.link()
    if (flags & F_REMOTE) context.isRemote = true
    if (traceState) context.traceState = traceState
    if (parent && flags & F_PARENT_REMOTE) parent.isRemote = true
    const span = new RecordSpan(name, context, ids, startTime, endTime, state.keys, values, this.resource as unknown as Resource, scope)
    span.kind = flags & F_KIND ? kind : (undefined as unknown as number)
    span.parentSpanContext = parent
    span.status = message === undefined ? { code: statusCode } : { code: statusCode, message }
    span.droppedAttributesCount = droppedAttributes
    span.droppedEventsCount = droppedEvents
    span.droppedLinksCount = droppedLinks
    span.events = events
    span.links = links
    return span
  }

  private link(): Link {
    const traceId = this.hex()
    const spanId = this.hex()
    const traceFlags = this.u8()
    const flags = this.u8()
    const context: SpanContext = { traceId, spanId, traceFlags }
    if (flags & 1) context.isRemote = true
    if (flags & 2) context.traceState = traceStateOf(this.string())
    const attributes = this.value() as Attributes | null
    return { context, ...(attributes ? { attributes } : {}), droppedAttributesCount: this.u32() }
  }

  private value(): unknown {
    const type = this.u8()
    switch (type) {
      case T_STRING:
        return this.string()
      case T_NUMBER: {
        const v = this.view.getFloat64(this.pos, true)
        this.pos += 8
        return v
      }
      case T_TRUE:
        return true
      case T_FALSE:
        return false
      case T_BYTES: {
        const n = this.u32()
        const copy = this.bytes.slice(this.pos, this.pos + n)
        this.pos += n
        return copy
      }
      case T_ARRAY: {
        const items: unknown[] = new Array(this.u32())
        for (let i = 0; i < items.length; i++) items[i] = this.value()
        return items
      }
      case T_MAP: {
        const map: Record<string, unknown> = {}
        const n = this.u32()
        for (let i = 0; i < n; i++) {
          const key = this.string()
          map[key] = this.value()
        }
        return map
      }
      default:
        return null
    }
  }

  private u8(): number {
    return this.bytes[this.pos++]!
  }

  private u32(): number {
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  private time(): HrTime {
    const t: HrTime = [this.view.getUint32(this.pos, true), this.view.getUint32(this.pos + 4, true)]
    this.pos += 8
    return t
  }

  private hex(): string {
    const n = this.bytes[this.pos++]!
    let s = ''
    for (let i = 0; i < n; i++) s += HEX[this.bytes[this.pos++]!]
    return s
  }

  /**
   * A span's context and its parent's. Their ids are kept as bytes (trace id, span id, parent id or
   * zeros), for the encoder to copy as they are, and made hex only when asked (the trace store asks
   * for the trace id). Ids of other lengths (an SDK tracer's own id generator) are read as hex.
   */
  private contexts(hasParent: number, traceFlags: number): [Buffer | undefined, SpanContext, SpanContext | undefined] {
    const ids = this.ids(hasParent)
    if (ids) return [ids, new RecordContext(ids, SPAN_ID_AT, traceFlags), hasParent ? new RecordContext(ids, PARENT_ID_AT, traceFlags) : undefined]
    const traceId = this.hex()
    const spanId = this.hex()
    const parent = hasParent ? { traceId, spanId: this.hex(), traceFlags } : undefined
    return [undefined, { traceId, spanId, traceFlags }, parent]
  }

  /** The ids as bytes (RecordSpan.idBytes), undefined (nothing read) when one is not of W3C's length. */
  private ids(hasParent: number): Buffer | undefined {
    const b = this.bytes
    let p = this.pos
    if (b[p] !== TRACE_ID_BYTES || b[p + 1 + TRACE_ID_BYTES] !== SPAN_ID_BYTES || (hasParent && b[p + 2 + TRACE_ID_BYTES + SPAN_ID_BYTES] !== SPAN_ID_BYTES)) {
      return undefined
    }
    const ids = Buffer.allocUnsafe(ID_BYTES)
    // Byte by byte: a view (subarray) per id costs more than the copy.
    p++
    for (let i = 0; i < TRACE_ID_BYTES; i++) ids[i] = b[p++]!
    p++
    for (let i = SPAN_ID_AT; i < SPAN_ID_AT + SPAN_ID_BYTES; i++) ids[i] = b[p++]!
    if (hasParent) {
      p++
      for (let i = PARENT_ID_AT; i < ID_BYTES; i++) ids[i] = b[p++]!
    } else for (let i = PARENT_ID_AT; i < ID_BYTES; i++) ids[i] = 0
    this.pos = p
    return ids
  }

  private optionalString(): string | undefined {
    return this.u8() === 1 ? this.string() : undefined
  }

  private string(): string {
    const header = this.u32()
    const n = header >>> 1
    if (header & 1) {
      const s = utf8.decode(this.bytes.subarray(this.pos, this.pos + n))
      this.pos += n
      return s
    }
    let s = ''
    const b = this.bytes
    let p = this.pos
    for (let i = 0; i < n; i++, p += 2) s += String.fromCharCode(b[p]! | (b[p + 1]! << 8))
    this.pos = p
    return s
  }
}
