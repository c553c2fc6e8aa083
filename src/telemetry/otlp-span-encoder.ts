// OTLP/protobuf for spans, written as each span ends instead of all at once when a batch leaves.
// The SDK's serializer (ProtobufTraceSerializer) encodes a whole batch of 512 spans inside the
// span.end() that fills it: about 4 µs of CPU a span, written twice (a size pass, then the bytes),
// a pause of several ms every 128 requests. Here each span is written once, about 1.2 µs, straight
// into one reused buffer (ids from hex, times from HrTime, keys and repeated key=value pairs from a
// cache), and a batch is only copied out under its resource and scope headers. The bytes are the
// SDK's, byte for byte (test/telemetry/span-encoding.test.ts compares them).
import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from '@opentelemetry/api'
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace'
import type { FlatAttributes } from './gateway-tracer.ts'
import { ProtoWriter } from './protobuf.ts'

type Resource = ReadableSpan['resource']
type Scope = ReadableSpan['instrumentationScope']

/** The protobuf tags (field << 3 | wire type) of the fields written here, written as varints. */
export const TAG = {
  spanTraceId: 0x0a, spanSpanId: 0x12, spanTraceState: 0x1a, spanParentId: 0x22, spanName: 0x2a,
  spanKind: 0x30, spanStart: 0x39, spanEnd: 0x41, spanAttribute: 0x4a, spanDroppedAttributes: 0x50,
  spanEvent: 0x5a, spanDroppedEvents: 0x60, spanLink: 0x6a, spanDroppedLinks: 0x70, spanStatus: 0x7a, spanFlags: 0x85,
  eventTime: 0x09, eventName: 0x12, eventAttribute: 0x1a, eventDroppedAttributes: 0x20,
  linkTraceId: 0x0a, linkSpanId: 0x12, linkTraceState: 0x1a, linkAttribute: 0x22, linkDroppedAttributes: 0x28, linkFlags: 0x35,
  statusMessage: 0x12, statusCode: 0x18, keyValueKey: 0x0a, keyValueValue: 0x12,
  anyString: 0x0a, anyBool: 0x10, anyInt: 0x18, anyDouble: 0x21, anyArray: 0x2a, anyKvList: 0x32, anyBytes: 0x3a,
  arrayValue: 0x0a, kvListValue: 0x0a,
  scopeName: 0x0a, scopeVersion: 0x12, scopeAttribute: 0x1a, scopeDroppedAttributes: 0x20,
  resourceAttribute: 0x0a, resourceDroppedAttributes: 0x10,
  requestResourceSpans: 0x0a, resourceSpansResource: 0x0a, resourceSpansScopeSpans: 0x12, resourceSpansSchemaUrl: 0x1a,
  scopeSpansScope: 0x0a, scopeSpansSpan: 0x12, scopeSpansSchemaUrl: 0x1a,
} as const
const HAS_IS_REMOTE = 0x100
const IS_REMOTE = 0x200

/**
 * Keys and the key=value pairs that repeat (model, provider, route, method, status …) are encoded
 * once. A key's values are cached until it shows more than MAX_VALUES_PER_KEY distinct ones (ids,
 * prompts, timings then go straight to the buffer); both tables are bounded.
 */
const MAX_KEYS = 512
const MAX_VALUES_PER_KEY = 64
const MAX_CACHED_VALUE_CHARS = 128

interface KeyEntry {
  /** KeyValue.key with its tag and length. */
  key: Uint8Array
  /** Whole KeyValue messages (length prefix included) by string value; null once too many. */
  pairs: Map<string, Pair> | null
  /**
   * The pair written last: most keys repeat one value request after request (method, route,
   * provider, model), and comparing with it costs less than hashing the value for the map.
   */
  last: Pair | undefined
}

interface Pair {
  /** The value, a string of its own (ownString). */
  value: string
  /** The KeyValue message, length prefix included. */
  bytes: Uint8Array
}

/**
 * A span that has its ids as bytes (read back from its record: span-record-reader.ts): the trace
 * id, span id and parent id at 0, 16 and 24, copied as they are instead of parsed from hex.
 */
export interface IdBytes {
  readonly idBytes: Uint8Array
}

/**
 * A span whose `attributeKeys` array is shared by every span of its name and keys (the reader's,
 * span-record-reader.ts): the encoder finds the keys' cache entries once per array, not by a
 * lookup of each key in each span.
 */
export interface SharedKeys {
  readonly keysShared: true
}

export class SpanEncoder {
  private readonly keys = new Map<string, KeyEntry>()
  /** The cache entries of a shared keys array (SharedKeys), found as its spans are written. */
  private readonly keyLists = new WeakMap<readonly string[], (KeyEntry | undefined)[]>()
  private readonly scopes = new WeakMap<Scope, Uint8Array>()
  private readonly resources = new WeakMap<Resource, Uint8Array>()

  /** ScopeSpans.scope, encoded once per tracer's scope. */
  scopeBytes(scope: Scope): Uint8Array {
    let bytes = this.scopes.get(scope)
    if (!bytes) {
      const w = new ProtoWriter(256)
      this.scope(w, scope)
      this.scopes.set(scope, (bytes = w.copy(0)))
    }
    return bytes
  }

  /** ResourceSpans.resource, encoded once its detectors have all answered. */
  resourceBytes(resource: Resource): Uint8Array {
    let bytes = this.resources.get(resource)
    if (!bytes) {
      const w = new ProtoWriter(1024)
      this.resource(w, resource)
      bytes = w.copy(0)
      if (!resource.asyncAttributesPending) this.resources.set(resource, bytes)
    }
    return bytes
  }

  /** One span as ScopeSpans.spans (tag, length, Span), appended to `w`. */
  span(w: ProtoWriter, span: ReadableSpan): void {
    w.uint(TAG.scopeSpansSpan)
    const start = w.begin()
    const context = span.spanContext()
    const ids = (span as Partial<IdBytes>).idBytes
    w.uint(TAG.spanTraceId)
    if (ids) w.bytesOf(ids, 0, 16)
    else w.hexId(context.traceId)
    w.uint(TAG.spanSpanId)
    if (ids) w.bytesOf(ids, 16, 24)
    else w.hexId(context.spanId)
    const traceState = context.traceState?.serialize()
    if (traceState) {
      w.uint(TAG.spanTraceState)
      w.string(traceState)
    }
    const parent = span.parentSpanContext
    if (parent !== undefined && (ids !== undefined || parent.spanId)) {
      w.uint(TAG.spanParentId)
      if (ids) w.bytesOf(ids, 24, 32)
      else w.hexId(parent.spanId)
    }
    w.uint(TAG.spanName)
    w.string(span.name)
    // OTLP's SpanKind counts from UNSPECIFIED = 0; the API's from INTERNAL = 0.
    if (span.kind != null) {
      w.uint(TAG.spanKind)
      w.uint(span.kind + 1)
    }
    w.uint(TAG.spanStart)
    w.hrTime(span.startTime)
    w.uint(TAG.spanEnd)
    w.hrTime(span.endTime)
    const flat = span as Partial<FlatAttributes>
    if (flat.attributeKeys) {
      const keys = flat.attributeKeys
      const values = flat.attributeValues!
      const entries = (span as Partial<SharedKeys>).keysShared ? this.entriesOf(keys) : undefined
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!
        const entry = entries ? (entries[i] ??= this.keyEntry(key)) : this.keyEntry(key)
        this.attributeOf(w, key, entry, values[i], TAG.spanAttribute)
      }
    } else if (span.attributes) this.attributes(w, span.attributes, TAG.spanAttribute)
    w.uint(TAG.spanDroppedAttributes)
    w.uint(span.droppedAttributesCount)
    for (let i = 0; i < span.events.length; i++) this.event(w, span.events[i]!)
    w.uint(TAG.spanDroppedEvents)
    w.uint(span.droppedEventsCount)
    for (let i = 0; i < span.links.length; i++) this.link(w, span.links[i]!)
    w.uint(TAG.spanDroppedLinks)
    w.uint(span.droppedLinksCount)
    w.uint(TAG.spanStatus)
    const status = w.begin()
    if (span.status.message) {
      w.uint(TAG.statusMessage)
      w.string(span.status.message)
    }
    w.uint(TAG.statusCode)
    w.uint(span.status.code)
    w.end(status)
    flags(w, TAG.spanFlags, context, parent?.isRemote)
    w.end(start)
  }

  /** An InstrumentationScope message with its tag (ScopeSpans.scope). */
  scope(w: ProtoWriter, scope: Scope): void {
    w.uint(TAG.scopeSpansScope)
    const start = w.begin()
    w.uint(TAG.scopeName)
    w.string(scope.name)
    if (scope.version) {
      w.uint(TAG.scopeVersion)
      w.string(scope.version)
    }
    const { attributes, droppedAttributesCount } = scope as Scope & { attributes?: Attributes; droppedAttributesCount?: number }
    if (attributes) this.attributes(w, attributes, TAG.scopeAttribute)
    if (droppedAttributesCount) {
      w.uint(TAG.scopeDroppedAttributes)
      w.uint(droppedAttributesCount)
    }
    w.end(start)
  }

  /** A Resource message with its tag (ResourceSpans.resource). */
  resource(w: ProtoWriter, resource: Resource): void {
    w.uint(TAG.resourceSpansResource)
    const start = w.begin()
    if (resource.attributes) this.attributes(w, resource.attributes, TAG.resourceAttribute)
    w.uint(TAG.resourceDroppedAttributes)
    w.uint(0)
    w.end(start)
  }

  private event(w: ProtoWriter, event: TimedEvent): void {
    w.uint(TAG.spanEvent)
    const start = w.begin()
    w.uint(TAG.eventTime)
    w.hrTime(event.time)
    w.uint(TAG.eventName)
    w.string(event.name)
    if (event.attributes) this.attributes(w, event.attributes, TAG.eventAttribute)
    w.uint(TAG.eventDroppedAttributes)
    w.uint(event.droppedAttributesCount || 0)
    w.end(start)
  }

  private link(w: ProtoWriter, link: Link): void {
    w.uint(TAG.spanLink)
    const start = w.begin()
    const context = link.context
    w.uint(TAG.linkTraceId)
    w.hexId(context.traceId)
    w.uint(TAG.linkSpanId)
    w.hexId(context.spanId)
    const traceState = context.traceState?.serialize()
    if (traceState) {
      w.uint(TAG.linkTraceState)
      w.string(traceState)
    }
    if (link.attributes) this.attributes(w, link.attributes, TAG.linkAttribute)
    w.uint(TAG.linkDroppedAttributes)
    w.uint(link.droppedAttributesCount || 0)
    flags(w, TAG.linkFlags, context, context.isRemote)
    w.end(start)
  }

  private attributes(w: ProtoWriter, attributes: Attributes, tag: number): void {
    for (const key in attributes) {
      if (hasOwn.call(attributes, key)) this.attribute(w, key, attributes[key], tag)
    }
  }

  private entriesOf(keys: readonly string[]): (KeyEntry | undefined)[] {
    let entries = this.keyLists.get(keys)
    if (!entries) this.keyLists.set(keys, (entries = new Array<KeyEntry | undefined>(keys.length)))
    return entries
  }

  private keyEntry(key: string): KeyEntry | undefined {
    return this.keys.get(key) ?? this.newKey(key)
  }

  private attribute(w: ProtoWriter, key: string, value: AttributeValue | Attributes | undefined, tag: number): void {
    this.attributeOf(w, key, this.keyEntry(key), value, tag)
  }

  /** One KeyValue with its tag; a string value's pair is encoded once and copied after. */
  private attributeOf(w: ProtoWriter, key: string, entry: KeyEntry | undefined, value: AttributeValue | Attributes | undefined, tag: number): void {
    w.uint(tag)
    if (typeof value === 'string' && entry?.pairs && value.length <= MAX_CACHED_VALUE_CHARS) {
      const pair = entry.last?.value === value ? entry.last : entry.pairs.get(value)
      if (pair) {
        entry.last = pair
        w.raw(pair.bytes)
        return
      }
    }
    const start = w.begin()
    if (entry) w.raw(entry.key)
    else {
      w.uint(TAG.keyValueKey)
      w.string(key)
    }
    w.uint(TAG.keyValueValue)
    const valueStart = w.begin()
    anyValue(w, value)
    w.end(valueStart)
    w.end(start)
    if (typeof value === 'string' && entry?.pairs && value.length <= MAX_CACHED_VALUE_CHARS) {
      if (entry.pairs.size < MAX_VALUES_PER_KEY) {
        const own = ownString(value)
        entry.pairs.set(own, (entry.last = { value: own, bytes: w.copy(start) }))
      } else {
        entry.pairs = null
        entry.last = undefined
      }
    }
  }

  private newKey(key: string): KeyEntry | undefined {
    if (this.keys.size >= MAX_KEYS) return undefined
    const scratch = new ProtoWriter(16 + key.length * 3)
    scratch.uint(TAG.keyValueKey)
    scratch.string(key)
    const entry: KeyEntry = { key: scratch.copy(0), pairs: new Map(), last: undefined }
    this.keys.set(key, entry)
    return entry
  }
}

/** Span.flags and Link.flags: the W3C trace flags, and whether the context came from elsewhere. */
function flags(w: ProtoWriter, tag: number, context: SpanContext, isRemote: boolean | undefined): void {
  w.uint(tag)
  w.fixed32((context.traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0))
}

/**
 * A copy of `value` that refers to no other string. In V8 a `slice()` of 13 characters or more is
 * a view that keeps its whole source alive, and a concatenation a pair of references to its parts
 * (https://issues.chromium.org/issues/41040398): a cached 40-character value cut from a 1 MB body
 * would hold the megabyte. `(' ' + value).slice(1)` makes V8 flatten into a fresh string first.
 */
export function ownString(value: string): string {
  return value.length < 13 ? value : (' ' + value).slice(1)
}

/** Called as in the SDK's serializer: V8 makes this check free inside for-in. */
const hasOwn = Object.prototype.hasOwnProperty

const MIN_INT64 = -(2 ** 63)
const MAX_INT64 = 2 ** 63

/** An AnyValue's fields, as the SDK writes them (null and undefined leave it empty). */
function anyValue(w: ProtoWriter, value: AttributeValue | Attributes | null | undefined): void {
  if (typeof value === 'string') {
    w.uint(TAG.anyString)
    w.string(value)
  } else if (typeof value === 'boolean') {
    w.uint(TAG.anyBool)
    w.uint(value ? 1 : 0)
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
      w.uint(TAG.anyInt)
      w.int64(value)
    } else {
      w.uint(TAG.anyDouble)
      w.double(value)
    }
  } else if (value instanceof Uint8Array) {
    w.uint(TAG.anyBytes)
    w.bytes(value)
  } else if (Array.isArray(value)) {
    w.uint(TAG.anyArray)
    const array = w.begin()
    for (const item of value) {
      w.uint(TAG.arrayValue)
      const start = w.begin()
      anyValue(w, item)
      w.end(start)
    }
    w.end(array)
  } else if (typeof value === 'object' && value !== null) {
    w.uint(TAG.anyKvList)
    const list = w.begin()
    for (const key in value) {
      if (!hasOwn.call(value, key)) continue
      w.uint(TAG.kvListValue)
      const pair = w.begin()
      w.uint(TAG.keyValueKey)
      w.string(key)
      w.uint(TAG.keyValueValue)
      const start = w.begin()
      anyValue(w, (value as Attributes)[key])
      w.end(start)
      w.end(pair)
    }
    w.end(list)
  }
}

