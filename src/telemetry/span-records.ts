// Spans as flat records, the way the main thread hands them to the telemetry worker
// (span-hand-off.ts, telemetry-worker.ts): writing a record costs the thread that serves requests
// far less than encoding the span as OTLP (bench/RESULTS.md, twelfth round), and the worker reads
// it back (span-record-reader.ts) and does the rest. A batch is a run of entries, each a u32
// length, a u32 kind and its bytes. Span names and attribute keys are interned: defined once in
// the batch stream, then named by number. A span's attribute value that is the same (===) as the
// last span of that name had under the same keys goes as one byte. Everything a span holds is
// carried (events, links, trace state, map and byte values), so what the worker exports is what
// the SDK would have.
import type { Attributes, HrTime, Link } from '@opentelemetry/api'
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace'
import type { FlatAttributes } from './gateway-tracer.ts'
import { OwnSpanContext } from './id-pool.ts'

export type Resource = ReadableSpan['resource']
export type Scope = ReadableSpan['instrumentationScope']

/** Entry kinds. */
export const K_TEXT = 1
export const K_SCOPE = 2
export const K_RESOURCE = 3
export const K_SPAN = 4
/** Forget every interned text and name: the writer's tables were full, or a batch was lost. */
export const K_RESET = 5

/** Value types. */
export const T_SAME = 0
export const T_STRING = 1
export const T_NUMBER = 2
export const T_TRUE = 3
export const T_FALSE = 4
export const T_ARRAY = 5
export const T_NULL = 6
export const T_BYTES = 7
export const T_MAP = 8

/** Span flags. */
export const F_PARENT = 1
export const F_PARENT_REMOTE = 2
export const F_STATUS_MESSAGE = 4
export const F_REMOTE = 8
export const F_SAME_KEYS = 16
export const F_TRACE_STATE = 32
export const F_KIND = 64

/** Texts interned, and scopes, before the tables start again (a tracer named or naming spans after each request would grow them). */
const MAX_INTERNED = 4096
const MAX_SCOPES = 256
const FIRST_BYTES = 64 * 1024
const MAX_KEPT_BYTES = 1024 * 1024
/** Strings longer than this are written as UTF-8 by the runtime, shorter ones code unit by code unit. */
export const SHORT_STRING = 32

const NIBBLE = new Uint8Array(128)
for (let i = 0; i < 16; i++) {
  NIBBLE['0123456789abcdef'.charCodeAt(i)] = i
  NIBBLE['0123456789ABCDEF'.charCodeAt(i)] = i
}
const utf8 = new TextEncoder()

/** What the writer last sent for spans of one name: their keys, and the values to compare with. */
interface NameState {
  id: number
  keys: string[]
  keyIds: number[]
  values: unknown[]
}

/**
 * Appends records to a batch; `take()` hands the batch over whole and starts the next. The
 * batch's bytes are valid until then.
 */
export class RecordWriter {
  bytes = new Uint8Array(FIRST_BYTES)
  private view = new DataView(this.bytes.buffer)
  pos = 0
  spans = 0
  private readonly ids = new Map<string, number>()
  private readonly names = new Map<string, NameState>()
  private readonly scopes = new Map<Scope, number>()
  /** The resource as the worker's tables have it. */
  private resource: Resource | undefined
  /** A resource written while its detectors had not all answered: its final attributes are still to write. */
  private settling: Resource | undefined
  /** Told when a resource written as pending has its final attributes (the hand-off then writes and publishes them). */
  onResourceSettled: (() => void) | undefined

  /** Hands the batch to `publish` and starts a new one; returns how many spans it held, negative when `publish` refused them. */
  take(publish: (bytes: Uint8Array, length: number, spans: number) => boolean): number {
    const spans = this.spans
    const ok = this.pos === 0 || publish(this.bytes, this.pos, spans)
    this.pos = 0
    this.spans = 0
    // A batch grown for one long span (a captured prompt) does not keep its buffer.
    if (this.bytes.length > MAX_KEPT_BYTES) this.grow(FIRST_BYTES)
    if (ok) return spans
    // The worker never saw the definitions in the lost batch: the next batch starts the tables
    // again, and they are written again when next needed.
    this.resync()
    return -spans
  }

  /** Appends `span`; false when it cannot be written (a value that throws when read): nothing of it is kept. */
  add(span: ReadableSpan): boolean {
    const at = this.pos
    try {
      this.record(span)
      return true
    } catch {
      this.pos = at
      this.forget()
      this.end(this.begin(K_RESET))
      return false
    }
  }

  private record(span: ReadableSpan): void {
    if (this.ids.size >= MAX_INTERNED || this.scopes.size >= MAX_SCOPES) {
      this.forget()
      this.end(this.begin(K_RESET))
    }
    const scope = this.scopeIndex(span.instrumentationScope)
    this.defineResource(span.resource)
    const flat = span as Partial<FlatAttributes>
    const keys = flat.attributeKeys ?? Object.keys(span.attributes)
    let state = this.names.get(span.name)
    let sameKeys = state !== undefined && state.keys.length === keys.length
    if (sameKeys) for (let i = 0; i < keys.length; i++) if (keys[i] !== state!.keys[i]) { sameKeys = false; break }
    if (!sameKeys) {
      const keyIds: number[] = new Array(keys.length)
      for (let i = 0; i < keys.length; i++) keyIds[i] = this.intern(keys[i]!)
      state = { id: this.intern(span.name), keys: keys.slice(), keyIds, values: new Array(keys.length) }
      this.names.set(span.name, state)
    }
    const frame = this.begin(K_SPAN)
    const context = span.spanContext()
    const parent = span.parentSpanContext
    const traceState = context.traceState?.serialize()
    this.u32(state!.id)
    this.u32(scope)
    this.u8(span.kind ?? 0)
    this.u8(
      (parent?.spanId ? F_PARENT : 0) | (parent?.isRemote ? F_PARENT_REMOTE : 0) | (span.status.message ? F_STATUS_MESSAGE : 0) |
        (context.isRemote ? F_REMOTE : 0) | (sameKeys ? F_SAME_KEYS : 0) | (traceState ? F_TRACE_STATE : 0) | (span.kind != null ? F_KIND : 0),
    )
    this.u8(span.status.code)
    this.u8(context.traceFlags)
    const own = context instanceof OwnSpanContext ? context : undefined
    this.hex(context.traceId, own?.traceBytes, own?.traceAt)
    this.hex(context.spanId, own?.spanBytes, own?.spanAt)
    if (parent?.spanId) this.hex(parent.spanId, parent instanceof OwnSpanContext ? parent.spanBytes : undefined, (parent as OwnSpanContext).spanAt)
    if (traceState) this.string(traceState)
    this.time(span.startTime)
    this.time(span.endTime)
    this.u32(span.droppedAttributesCount)
    this.u32(span.droppedEventsCount)
    this.u32(span.droppedLinksCount)
    if (span.status.message) this.string(span.status.message)
    const values = flat.attributeValues ?? keys.map((key) => span.attributes[key])
    const last = state!.values
    this.u32(keys.length)
    if (!sameKeys) for (let i = 0; i < keys.length; i++) this.u32(state!.keyIds[i]!)
    for (let i = 0; i < keys.length; i++) {
      const value = values[i]
      if (sameKeys && value === last[i] && (typeof value !== 'object' || value === null)) this.u8(T_SAME)
      else this.value(value)
      last[i] = value
    }
    this.u32(span.events.length)
    // Indexed: for-of over the tracer's shared frozen empty array (NONE) took V8's generic
    // iterator, an allocation per loop.
    for (let i = 0; i < span.events.length; i++) this.event(span.events[i]!)
    this.u32(span.links.length)
    for (let i = 0; i < span.links.length; i++) this.link(span.links[i]!)
    this.end(frame)
    this.spans++
  }

  /** Starts the tables again, told so by the worker (it could not read a batch whole and skips until then). */
  resync(): void {
    this.forget()
    this.end(this.begin(K_RESET))
  }

  private forget(): void {
    this.ids.clear()
    this.names.clear()
    this.scopes.clear()
    this.resource = undefined
  }

  private scopeIndex(scope: Scope): number {
    let index = this.scopes.get(scope)
    if (index !== undefined) return index
    index = this.scopes.size
    this.scopes.set(scope, index)
    const { attributes, droppedAttributesCount } = scope as Scope & { attributes?: Attributes; droppedAttributesCount?: number }
    const frame = this.begin(K_SCOPE)
    this.u32(index)
    this.string(scope.name)
    this.optionalString(scope.version)
    this.optionalString(scope.schemaUrl)
    this.value(attributes ?? null)
    this.u32(droppedAttributesCount ?? 0)
    this.end(frame)
    return index
  }

  /**
   * The resource, once (every span of a provider carries the same). Detectors that answer late
   * (cloud metadata) are waited for here, and the worker holds its exports until the final
   * attributes come: they are written as soon as they are known (settleResource()).
   */
  private defineResource(resource: Resource): void {
    if (resource === this.resource) {
      if (resource === this.settling && !resource.asyncAttributesPending) this.writeResource(resource)
      return
    }
    this.resource = resource
    this.writeResource(resource)
  }

  /** Writes the final attributes of a resource written as pending; true when there were any to write. */
  settleResource(): boolean {
    const resource = this.settling
    if (!resource || resource.asyncAttributesPending) return false
    this.resource = resource
    this.writeResource(resource)
    return true
  }

  private writeResource(resource: Resource): void {
    const pending = resource.asyncAttributesPending === true
    const frame = this.begin(K_RESOURCE)
    this.u8(pending ? 1 : 0)
    this.optionalString(resource.schemaUrl)
    // Attributes read before they settle are incomplete (and the SDK complains): the final ones follow.
    this.value(pending ? null : (resource.attributes as Attributes))
    this.end(frame)
    if (!pending) {
      if (this.settling === resource) this.settling = undefined
    } else if (this.settling !== resource) {
      this.settling = resource
      // The SDK's resource settles only when asked to; nothing else on this thread asks.
      void resource.waitForAsyncAttributes?.().then(() => this.onResourceSettled?.(), () => this.onResourceSettled?.())
    }
  }

  private event(event: TimedEvent): void {
    this.string(event.name)
    this.time(event.time)
    this.value(event.attributes ?? null)
    this.u32(event.droppedAttributesCount ?? 0)
  }

  private link(link: Link): void {
    const context = link.context
    const traceState = context.traceState?.serialize()
    this.hex(context.traceId)
    this.hex(context.spanId)
    this.u8(context.traceFlags)
    this.u8((context.isRemote ? 1 : 0) | (traceState ? 2 : 0))
    if (traceState) this.string(traceState)
    this.value(link.attributes ?? null)
    this.u32(link.droppedAttributesCount ?? 0)
  }

  private intern(text: string): number {
    const known = this.ids.get(text)
    if (known !== undefined) return known
    const id = this.ids.size
    this.ids.set(text, id)
    const frame = this.begin(K_TEXT)
    this.u32(id)
    this.string(text)
    this.end(frame)
    return id
  }

  private begin(kind: number): number {
    this.reserve(8)
    const at = this.pos
    this.view.setUint32(at + 4, kind, true)
    this.pos += 8
    return at
  }

  private end(at: number): void {
    this.view.setUint32(at, this.pos - at - 8, true)
  }

  /** Any value an attribute may hold, as the OTLP encoder takes them (null and undefined alike). */
  private value(value: unknown): void {
    if (typeof value === 'string') {
      this.u8(T_STRING)
      this.string(value)
    } else if (typeof value === 'number') {
      this.u8(T_NUMBER)
      this.reserve(8)
      this.view.setFloat64(this.pos, value, true)
      this.pos += 8
    } else if (value === true) this.u8(T_TRUE)
    else if (value === false) this.u8(T_FALSE)
    else if (value instanceof Uint8Array) {
      this.u8(T_BYTES)
      this.u32(value.length)
      this.reserve(value.length)
      this.bytes.set(value, this.pos)
      this.pos += value.length
    } else if (Array.isArray(value)) {
      this.u8(T_ARRAY)
      this.u32(value.length)
      for (const item of value) this.value(item)
    } else if (typeof value === 'object' && value !== null) {
      this.u8(T_MAP)
      const keys = Object.keys(value)
      this.u32(keys.length)
      for (const key of keys) {
        this.string(key)
        this.value((value as Record<string, unknown>)[key])
      }
    } else this.u8(T_NULL)
  }

  private reserve(n: number): void {
    if (this.pos + n > this.bytes.length) this.grow(Math.max(this.bytes.length * 2, this.pos + n))
  }

  private grow(size: number): void {
    const bytes = new Uint8Array(size)
    bytes.set(this.bytes.subarray(0, this.pos))
    this.bytes = bytes
    this.view = new DataView(bytes.buffer)
  }

  private u8(v: number): void {
    this.reserve(1)
    this.bytes[this.pos++] = v
  }

  private u32(v: number): void {
    this.reserve(4)
    this.view.setUint32(this.pos, v, true)
    this.pos += 4
  }

  private time(t: HrTime): void {
    this.reserve(8)
    this.view.setUint32(this.pos, t[0], true)
    this.view.setUint32(this.pos + 4, t[1], true)
    this.pos += 8
  }

  /** An id, copied from the bytes the id pool made it from (`from` at `at`: id-pool.ts) when given, else parsed from its hex. */
  private hex(id: string, from?: Uint8Array, at = 0): void {
    const n = id.length >>> 1
    this.reserve(1 + n)
    const b = this.bytes
    let p = this.pos
    b[p++] = n
    if (from) for (let i = at; i < at + n; i++) b[p++] = from[i]!
    else for (let i = 0; i < 2 * n; i += 2) b[p++] = (NIBBLE[id.charCodeAt(i) & 127]! << 4) | NIBBLE[id.charCodeAt(i + 1) & 127]!
    this.pos = p
  }

  private optionalString(s: string | undefined): void {
    if (s === undefined) this.u8(0)
    else {
      this.u8(1)
      this.string(s)
    }
  }

  /**
   * A short string as UTF-16 code units (no call into the runtime), a longer one as UTF-8; the
   * header says which: its length << 1, | 1 for UTF-8 (then the length is in bytes).
   */
  private string(s: string): void {
    const n = s.length
    if (n > SHORT_STRING) {
      this.reserve(4 + 3 * n)
      const { written } = utf8.encodeInto(s, this.bytes.subarray(this.pos + 4))
      this.view.setUint32(this.pos, (written << 1) | 1, true)
      this.pos += 4 + written
      return
    }
    this.reserve(4 + 2 * n)
    this.view.setUint32(this.pos, n << 1, true)
    let p = this.pos + 4
    const b = this.bytes
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      b[p++] = c & 255
      b[p++] = c >>> 8
    }
    this.pos = p
  }
}
