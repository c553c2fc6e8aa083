// A span's attributes encoded as they are set, in the span records' value encoding
// (record-bytes.ts), into a buffer taken from a pool and given back when the span has been
// recorded: the record writer copies them as they are (span-records.ts). Holding each value in
// arrays of the span until its end cost the main thread 15–19 µs a request at c=32 under load,
// against ~2 µs in isolation (bench/RESULTS.md, issue 15, twenty-first round): the values, the
// arrays and the span stayed reachable for the whole request, and so were copied by every young
// collection they lived through. Keys are numbered once for the process (attributeKey()).
import type { Attributes, AttributeValue } from '@opentelemetry/api'
import { ByteSink, ByteSource, SHORT_STRING, T_FALSE, T_NUMBER, T_STRING, T_TRUE } from './record-bytes.ts'

/** Keys numbered; past this, a span given a new key keeps its attributes as values (gateway-tracer.ts). */
const MAX_KEYS = 4096
/** A string longer than this is not copied into bytes where it is set (a captured prompt): the span holds it. */
export const MAX_ENCODED_STRING = 4096
const FIRST_BYTES = 1024
/** A buffer grown past this is not kept for the next span. */
const MAX_KEPT_BYTES = 16 * 1024
const MAX_POOLED = 1024

const keyNumbers = new Map<string, number>()
const keyTexts: string[] = []

/** The number of `key`, -1 once MAX_KEYS keys are numbered. */
export function attributeKeyNumber(key: string): number {
  const known = keyNumbers.get(key)
  if (known !== undefined) return known
  if (keyTexts.length >= MAX_KEYS) return -1
  keyNumbers.set(key, keyTexts.length)
  keyTexts.push(key)
  return keyTexts.length - 1
}

/** The key numbered `n`. */
export function attributeKey(n: number): string {
  return keyTexts[n]!
}

/**
 * A span whose attributes are kept as two parallel arrays, in the order they were first set: the
 * encoder reads them as they are (otlp-span-encoder.ts). An object of 28 attributes grown key by
 * key reallocated its property store as it grew (2.7 KB a request, issue 15). The gateway's spans
 * keep them so only when they cannot be encoded as set (attribute-bytes.ts).
 */
export interface FlatAttributes {
  readonly attributeKeys: readonly string[]
  readonly attributeValues: readonly AttributeValue[]
}

/** A span whose attributes are encoded (undefined: held as values, or none). */
export interface EncodedAttributes {
  readonly encodedAttributes: AttributeBytes | undefined
}

/** Distinct keys, by number (`ids`), and their values encoded in the same order. */
export class AttributeBytes extends ByteSink {
  ids = new Int32Array(32)
  count = 0
  /** A bit for each key number held. */
  private readonly held = new Uint32Array(MAX_KEYS >>> 5)

  constructor() {
    super(FIRST_BYTES)
  }

  has(id: number): boolean {
    return (this.held[id >>> 5]! & (1 << (id & 31))) !== 0
  }

  /** A key not held yet, and its value. */
  add(id: number, value: AttributeValue): void {
    if (this.count === this.ids.length) {
      const ids = new Int32Array(2 * this.count)
      ids.set(this.ids)
      this.ids = ids
    }
    this.ids[this.count++] = id
    this.held[id >>> 5]! |= 1 << (id & 31)
    if (typeof value === 'string' && value.length <= SHORT_STRING) this.shortString(value)
    else if (typeof value === 'number') {
      this.reserve(9)
      this.bytes[this.pos] = T_NUMBER
      this.view.setFloat64(this.pos + 1, value, true)
      this.pos += 9
    } else if (typeof value === 'boolean') this.u8(value ? T_TRUE : T_FALSE)
    else this.value(value)
  }

  /** value() of a short string, its room made once. */
  private shortString(s: string): void {
    const n = s.length
    this.reserve(5 + 2 * n)
    const b = this.bytes
    let p = this.pos
    b[p] = T_STRING
    this.view.setUint32(p + 1, n << 1, true)
    p += 5
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      b[p++] = c & 255
      b[p++] = c >>> 8
    }
    this.pos = p
  }

  /** The keys and values, decoded. */
  decoded(): { keys: string[]; values: AttributeValue[] } {
    const source = new ByteSource(this.bytes.subarray(0, this.pos))
    const keys: string[] = new Array(this.count)
    const values: AttributeValue[] = new Array(this.count)
    for (let i = 0; i < this.count; i++) {
      keys[i] = keyTexts[this.ids[i]!]!
      values[i] = source.value() as AttributeValue
    }
    return { keys, values }
  }

  private reset(): void {
    for (let i = 0; i < this.count; i++) this.held[this.ids[i]! >>> 5] = 0
    this.pos = 0
    this.count = 0
    if (this.bytes.length > MAX_KEPT_BYTES) this.grow(FIRST_BYTES)
  }

  private static readonly pool: AttributeBytes[] = []

  static take(): AttributeBytes {
    return AttributeBytes.pool.pop() ?? new AttributeBytes()
  }

  /** For the next span; nothing may read `bytes` of it after. */
  static release(bytes: AttributeBytes): void {
    bytes.reset()
    if (AttributeBytes.pool.length < MAX_POOLED) AttributeBytes.pool.push(bytes)
  }
}

/**
 * Whether `value` is one to encode where it is set: not a long string (nor an array holding one),
 * which would be copied for the span's whole life; those the span holds as they are.
 */
export function isCompact(value: AttributeValue): boolean {
  if (typeof value === 'string') return value.length <= MAX_ENCODED_STRING
  if (Array.isArray(value)) return value.every((item) => typeof item !== 'string' || item.length <= MAX_ENCODED_STRING)
  return true
}

/**
 * A value the SDK would accept, checked by type alone: the gateway's are strings, numbers,
 * booleans and arrays of them; maps (OTLP AnyValue) are kept as given, unchecked.
 */
export function isValidValue(value: unknown): value is AttributeValue {
  const type = typeof value
  return type === 'string' || type === 'number' || type === 'boolean' || (type === 'object' && value !== null)
}

/** An event attribute's value: the SDK takes only simple values there (no maps). */
export function isSimpleValue(value: unknown): value is AttributeValue {
  const type = typeof value
  if (type === 'string' || type === 'number' || type === 'boolean') return true
  return Array.isArray(value) && value.every((item) => item == null || ['string', 'number', 'boolean'].includes(typeof item))
}

export function truncated(value: AttributeValue, limit: number): AttributeValue {
  if (limit === Infinity) return value
  if (typeof value === 'string') return value.length > limit ? value.slice(0, limit) : value
  if (Array.isArray(value) && value.some((item) => typeof item === 'string' && item.length > limit)) {
    return (value as Array<string | null | undefined>).map((item) => (typeof item === 'string' && item.length > limit ? item.slice(0, limit) : item))
  }
  return value
}

/** An event's or a link's attributes within their count limit, with the count of those left out (none given: none). */
export function limitedAttributes(
  attributes: Attributes | undefined,
  countLimit: number,
  lengthLimit: number,
  isValid: (value: unknown) => boolean,
): { attributes?: Attributes; droppedAttributesCount?: number } {
  if (attributes === undefined) return {}
  const kept: Attributes = {}
  let count = 0
  let dropped = 0
  for (const key in attributes) {
    const value = attributes[key]
    if (value === undefined || !isValid(value)) continue
    if (count >= countLimit) dropped++
    else {
      kept[key] = truncated(value, lengthLimit)
      count++
    }
  }
  return { attributes: kept, droppedAttributesCount: dropped }
}
