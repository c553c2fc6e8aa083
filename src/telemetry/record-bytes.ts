// The byte encoding shared by the span records (span-records.ts, span-record-reader.ts) and the
// attributes a span encodes as they are set (attribute-bytes.ts): a growable little-endian writer
// and its reader, and how an attribute value is written (a type byte, then its bytes).

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

/** Strings longer than this are written as UTF-8 by the runtime, shorter ones code unit by code unit. */
export const SHORT_STRING = 32

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

/** Appends bytes to a buffer that grows as needed; `bytes` is valid up to `pos`. */
export class ByteSink {
  bytes: Uint8Array
  protected view: DataView
  pos = 0

  constructor(size: number) {
    this.bytes = new Uint8Array(size)
    this.view = new DataView(this.bytes.buffer)
  }

  /** Any value an attribute may hold, as the OTLP encoder takes them (null and undefined alike). */
  value(value: unknown): void {
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
      this.copy(value, value.length)
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

  /** The first `length` bytes of `from`. */
  copy(from: Uint8Array, length: number): void {
    this.reserve(length)
    this.bytes.set(length === from.length ? from : from.subarray(0, length), this.pos)
    this.pos += length
  }

  reserve(n: number): void {
    if (this.pos + n > this.bytes.length) this.grow(Math.max(this.bytes.length * 2, this.pos + n))
  }

  /** A buffer of `size` bytes holding what was written. */
  protected grow(size: number): void {
    const bytes = new Uint8Array(size)
    bytes.set(this.bytes.subarray(0, this.pos))
    this.bytes = bytes
    this.view = new DataView(bytes.buffer)
  }

  u8(v: number): void {
    this.reserve(1)
    this.bytes[this.pos++] = v
  }

  u32(v: number): void {
    this.reserve(4)
    this.view.setUint32(this.pos, v, true)
    this.pos += 4
  }

  /**
   * A short string as UTF-16 code units (no call into the runtime), a longer one as UTF-8; the
   * header says which: its length << 1, | 1 for UTF-8 (then the length is in bytes).
   */
  string(s: string): void {
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

/** Reads what a ByteSink wrote, from `pos`. */
export class ByteSource {
  protected bytes: Uint8Array
  protected view: DataView
  pos = 0

  constructor(bytes: Uint8Array = new Uint8Array(0)) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  value(): unknown {
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

  u8(): number {
    return this.bytes[this.pos++]!
  }

  u32(): number {
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  string(): string {
    const header = this.u32()
    const n = header >>> 1
    if (header & 1) {
      const s = fromUtf8.decode(this.bytes.subarray(this.pos, this.pos + n))
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
