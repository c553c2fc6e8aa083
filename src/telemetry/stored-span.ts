// What the trace store keeps of a span: the OTLP protobuf bytes it was exported as (otlp-span-encoder.ts),
// copied once, and read back only when a trace is looked up. Before, the store kept its own copy of
// every attribute object and string, ~2.7 KB of objects a request that lived until evicted: each
// one copied by the young-generation GC, promoted, then marked by every full GC. Bytes are one
// allocation a span, and they can never pin a larger string (a V8 slice keeps its source alive).
import type { Attributes, AttributeValue, Link } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { SpanEncoder } from './otlp-span-encoder.ts'
import { ProtoReader, ProtoWriter } from './protobuf.ts'

/** Where a span's encoding (ScopeSpans.spans) lies: `buf[at, end)`, bytes never written again. */
export interface SpanBytes {
  buf: Uint8Array
  at: number
  end: number
}

export type SpanKindName = 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER'
export type StatusCodeName = 'UNSET' | 'OK' | 'ERROR'
export type StoredValue = string | number | boolean | Array<string | number | boolean | null | undefined>

/** One span as the lookup routes hand it out: plain JSON values only. */
export interface StoredSpan {
  trace_id: string
  span_id: string
  parent_span_id: string | null
  name: string
  kind: SpanKindName
  /** Nanoseconds since the epoch, as a decimal string (too large for a JSON number). */
  start_time_unix_nano: string
  /** Milliseconds since the epoch, fractional: for arithmetic and display. */
  start_ms: number
  duration_ms: number
  status: { code: StatusCodeName; message?: string }
  attributes: Record<string, StoredValue>
  links: Array<{ trace_id: string; span_id: string; attributes: Record<string, StoredValue> }>
  /** The instrumentation scope that made the span (`sik-llms-gateway`, `@opentelemetry/instrumentation-undici` …). */
  scope: string
}

/** Longer strings (captured prompts, when capture is on) are cut in the store, not in the export. */
export const MAX_STORED_STRING_CHARS = 32 * 1024

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

function cut(value: string): string {
  if (value.length <= MAX_STORED_STRING_CHARS) return value
  // Not between the two halves of a surrogate pair.
  const end = isHighSurrogate(value.charCodeAt(MAX_STORED_STRING_CHARS - 1)) ? MAX_STORED_STRING_CHARS - 1 : MAX_STORED_STRING_CHARS
  return `${value.slice(0, end)}… [${value.length - end} more characters not kept by the trace store]`
}

function cutValue(value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === 'string') return cut(value)
  if (!Array.isArray(value) || !value.some((item) => typeof item === 'string' && item.length > MAX_STORED_STRING_CHARS)) return value
  return (value as Array<string | null | undefined>).map((item) => (typeof item === 'string' ? cut(item) : item))
}

function cutAttributes(attributes: Attributes | undefined): Attributes | undefined {
  if (!attributes) return attributes
  const out: Attributes = {}
  for (const key in attributes) out[key] = cutValue(attributes[key])
  return out
}

/**
 * `span` as the store writes it when one of its strings is longer than MAX_STORED_STRING_CHARS:
 * those cut (name, status message, attribute and link attribute values), no events (the store's
 * readers show none). Only a span whose bytes exceed that many can hold such a string (a UTF-16
 * code unit never takes less than a byte of UTF-8).
 */
export function cutForStore(span: ReadableSpan): ReadableSpan {
  const context = span.spanContext()
  return {
    name: cut(span.name),
    kind: span.kind,
    spanContext: () => context,
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status.message ? { code: span.status.code, message: cut(span.status.message) } : span.status,
    attributes: cutAttributes(span.attributes)!,
    links: span.links.map((link): Link => ({ ...link, attributes: cutAttributes(link.attributes) })),
    events: [],
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  }
}

/** Whether any string of `span` is longer than the store keeps. */
export function hasOverlongString(span: ReadableSpan): boolean {
  const long = (value: unknown): boolean =>
    typeof value === 'string' ? value.length > MAX_STORED_STRING_CHARS : Array.isArray(value) && value.some(long)
  const anyLong = (attributes: Attributes | undefined) => attributes !== undefined && Object.values(attributes).some(long)
  return long(span.name) || long(span.status.message) || anyLong(span.attributes) || span.links.some((link) => anyLong(link.attributes))
}

// OTLP's SpanKind counts from UNSPECIFIED = 0, then INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER.
const KIND_NAMES: SpanKindName[] = ['INTERNAL', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']
const STATUS_NAMES: StatusCodeName[] = ['UNSET', 'OK', 'ERROR']

function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1_000_000n) + Number(nanos % 1_000_000n) / 1e6
}

type Decoded = StoredValue | null | undefined | { [key: string]: Decoded }

function anyValue(read: ProtoReader): Decoded {
  let value: Decoded
  while (read.more()) {
    const [field, wire] = read.tag()
    if (field === 1 && wire === 2) value = read.string()
    else if (field === 2 && wire === 0) value = read.varint() !== 0
    else if (field === 3 && wire === 0) value = read.int64()
    else if (field === 4 && wire === 1) value = read.double()
    else if (field === 5 && wire === 2) {
      const items: Decoded[] = []
      const array = read.message()
      while (array.more()) {
        const [itemField, itemWire] = array.tag()
        if (itemField === 1 && itemWire === 2) items.push(anyValue(array.message()) ?? null)
        else array.skip(itemWire)
      }
      value = items as StoredValue
    } else if (field === 6 && wire === 2) {
      const map: { [key: string]: Decoded } = {}
      const list = read.message()
      while (list.more()) {
        const [entryField, entryWire] = list.tag()
        if (entryField === 1 && entryWire === 2) keyValue(list.message(), map)
        else list.skip(entryWire)
      }
      value = map
    } else read.skip(wire)
  }
  return value
}

/** A KeyValue into `into`; one without a value (an attribute set to undefined) is left out. */
function keyValue(read: ProtoReader, into: { [key: string]: Decoded }): void {
  let key = ''
  let value: Decoded
  while (read.more()) {
    const [field, wire] = read.tag()
    if (field === 1 && wire === 2) key = read.string()
    else if (field === 2 && wire === 2) value = anyValue(read.message())
    else read.skip(wire)
  }
  if (value !== undefined) into[key] = value
}

function link(read: ProtoReader): StoredSpan['links'][number] {
  const out: StoredSpan['links'][number] = { trace_id: '', span_id: '', attributes: {} }
  while (read.more()) {
    const [field, wire] = read.tag()
    if (field === 1 && wire === 2) out.trace_id = read.hex()
    else if (field === 2 && wire === 2) out.span_id = read.hex()
    else if (field === 4 && wire === 2) keyValue(read.message(), out.attributes)
    else read.skip(wire)
  }
  return out
}

/** A span back from its stored bytes (ScopeSpans.spans: tag, length, Span); `scope` is kept beside them. */
export function decodeStoredSpan(bytes: Uint8Array, scope: string): StoredSpan {
  const outer = new ProtoReader(bytes)
  outer.tag()
  const read = outer.message()
  const span: StoredSpan = {
    trace_id: '',
    span_id: '',
    parent_span_id: null,
    name: '',
    kind: 'INTERNAL',
    start_time_unix_nano: '0',
    start_ms: 0,
    duration_ms: 0,
    status: { code: 'UNSET' },
    attributes: {},
    links: [],
    scope,
  }
  let start = 0n
  let end = 0n
  while (read.more()) {
    const [field, wire] = read.tag()
    if (field === 1 && wire === 2) span.trace_id = read.hex()
    else if (field === 2 && wire === 2) span.span_id = read.hex()
    else if (field === 4 && wire === 2) span.parent_span_id = read.hex() || null
    else if (field === 5 && wire === 2) span.name = read.string()
    else if (field === 6 && wire === 0) span.kind = KIND_NAMES[read.varint()] ?? 'INTERNAL'
    else if (field === 7 && wire === 1) start = read.fixed64()
    else if (field === 8 && wire === 1) end = read.fixed64()
    else if (field === 9 && wire === 2) keyValue(read.message(), span.attributes)
    else if (field === 13 && wire === 2) span.links.push(link(read.message()))
    else if (field === 15 && wire === 2) {
      const status = read.message()
      while (status.more()) {
        const [statusField, statusWire] = status.tag()
        if (statusField === 2 && statusWire === 2) span.status.message = status.string()
        else if (statusField === 3 && statusWire === 0) span.status.code = STATUS_NAMES[status.varint()] ?? 'UNSET'
        else status.skip(statusWire)
      }
    } else read.skip(wire)
  }
  span.start_time_unix_nano = start.toString()
  span.start_ms = nanosToMs(start)
  span.duration_ms = nanosToMs(end - start)
  return span
}

/**
 * The trace store's own encoding of a span no exporter encoded, or of one with a string longer
 * than the store keeps (cut, see cutForStore); in one reused buffer, valid until the next call.
 */
export class StoreEncoding {
  private encoder: SpanEncoder | undefined
  private scratch: ProtoWriter | undefined
  private readonly bytes: SpanBytes = { buf: new Uint8Array(0), at: 0, end: 0 }

  of(span: ReadableSpan, encoded: SpanBytes | undefined): SpanBytes {
    const w = (this.scratch ??= new ProtoWriter(4096))
    const encoder = (this.encoder ??= new SpanEncoder())
    w.pos = 0
    if (!encoded) encoder.span(w, span)
    if (encoded || (w.pos > MAX_STORED_STRING_CHARS && hasOverlongString(span))) {
      w.pos = 0
      encoder.span(w, cutForStore(span))
    }
    this.bytes.buf = w.buf
    this.bytes.end = w.pos
    // A buffer grown by one huge span is let go after it.
    if (w.buf.length > 1024 * 1024) this.scratch = undefined
    return this.bytes
  }
}
