// The few protobuf primitives OTLP needs, over Node Buffers: a writer that grows one buffer and
// patches lengths in place, and a reader for the collector's short answers.
import type { HrTime } from '@opentelemetry/api'

/**
 * Four bytes of an unsigned 32-bit value, little-endian, at `pos`; returns the position after.
 * Buffer#writeUInt32LE checks its arguments on every call: two of these per span time, the cost showed in profiles.
 */
function le32(buf: Buffer, pos: number, value: number): number {
  buf[pos] = value & 0xff
  buf[pos + 1] = (value >>> 8) & 0xff
  buf[pos + 2] = (value >>> 16) & 0xff
  buf[pos + 3] = value >>> 24
  return pos + 4
}

/** A protobuf writer over one growing buffer; `pos` moves forward, lengths are patched in place. */
export class ProtoWriter {
  buf: Buffer
  pos = 0

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(size)
  }

  reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + bytes) size *= 2
    const bigger = Buffer.allocUnsafe(size)
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  /** A varint of a non-negative integer below 2^32 (tags, lengths, counts, enums). */
  uint(value: number): void {
    this.reserve(5)
    const buf = this.buf
    let pos = this.pos
    let v = value >>> 0
    while (v > 127) {
      buf[pos++] = (v & 127) | 128
      v >>>= 7
    }
    buf[pos++] = v
    this.pos = pos
  }

  /** A varint of any safe integer; negative ones as 64-bit two's complement (ten bytes). */
  int64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) return this.uint(value)
    this.reserve(10)
    let low: number
    let high: number
    if (value >= 0) {
      low = value >>> 0
      high = (value / 4294967296) >>> 0
    } else {
      const abs = Math.abs(value)
      low = (~(abs >>> 0) + 1) >>> 0
      high = ~((abs / 4294967296) >>> 0) >>> 0
      if (low === 0) high = (high + 1) >>> 0
    }
    while (high > 0 || low > 127) {
      this.buf[this.pos++] = (low & 127) | 128
      low = ((low >>> 7) | (high << 25)) >>> 0
      high >>>= 7
    }
    this.buf[this.pos++] = low & 127
  }

  fixed32(value: number): void {
    this.reserve(4)
    this.pos = le32(this.buf, this.pos, value >>> 0)
  }

  /** HrTime as fixed64 nanoseconds, in 32-bit halves (seconds × 1e9 exceeds 2^53). */
  hrTime(time: HrTime): void {
    const [seconds, nanos] = time
    const lowSecondsNanos = (seconds & 0xffff) * 1e9
    const highSecondsNanos = ((seconds / 65536) >>> 0) * 1e9
    const low = (lowSecondsNanos >>> 0) + (((highSecondsNanos & 0xffff) * 65536) >>> 0) + nanos
    const high = Math.floor(lowSecondsNanos / 4294967296) + ((highSecondsNanos / 65536) >>> 0) + Math.floor(low / 4294967296)
    this.reserve(8)
    this.pos = le32(this.buf, le32(this.buf, this.pos, low >>> 0), high >>> 0)
  }

  double(value: number): void {
    this.reserve(8)
    this.buf.writeDoubleLE(value, this.pos)
    this.pos += 8
  }

  /** A length-delimited string: short ASCII copied by hand, the rest by the native UTF-8 writer. */
  string(value: string): void {
    const length = value.length
    if (length < 128) {
      this.reserve(1 + length)
      const buf = this.buf
      const start = this.pos + 1
      let i = 0
      for (; i < length; i++) {
        const code = value.charCodeAt(i)
        if (code > 127) break
        buf[start + i] = code
      }
      if (i === length) {
        buf[this.pos] = length
        this.pos = start + length
        return
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8')
    this.uint(bytes)
    this.reserve(bytes)
    this.pos += this.buf.write(value, this.pos, bytes, 'utf8')
  }

  bytes(value: Uint8Array): void {
    this.uint(value.length)
    this.raw(value)
  }

  raw(value: Uint8Array): void {
    const length = value.length
    this.reserve(length)
    // TypedArray#set costs more than a loop for the short pieces the caches hold.
    const buf = this.buf
    const pos = this.pos
    if (length > 64) buf.set(value, pos)
    else for (let i = 0; i < length; i++) buf[pos + i] = value[i]!
    this.pos = pos + length
  }

  /** Bytes `from` to `to` of `value` as a length-delimited payload: the length, then the bytes. */
  bytesOf(value: Uint8Array, from: number, to: number): void {
    const length = to - from
    this.uint(length)
    this.reserve(length)
    const buf = this.buf
    let pos = this.pos
    for (let i = from; i < to; i++) buf[pos++] = value[i]!
    this.pos = pos
  }

  /** Trace and span ids: hex as bytes, as the SDK's hexToBinary reads it (uppercase too). */
  hexId(hex: string): void {
    const length = hex.length >>> 1
    this.uint(length)
    this.reserve(length)
    const buf = this.buf
    let pos = this.pos
    for (let i = 0; i < 2 * length; i += 2) buf[pos++] = (NIBBLE[hex.charCodeAt(i) & 127]! << 4) | NIBBLE[hex.charCodeAt(i + 1) & 127]!
    this.pos = pos
  }

  /** Starts a length-delimited field; one byte is kept for its length, moved over if it needs more. */
  begin(): number {
    this.reserve(1)
    return this.pos++
  }

  end(start: number): void {
    const length = this.pos - start - 1
    if (length < 128) {
      this.buf[start] = length
      return
    }
    const size = length < 16384 ? 2 : length < 2097152 ? 3 : length < 268435456 ? 4 : 5
    this.reserve(size - 1)
    this.buf.copyWithin(start + size, start + 1, this.pos)
    this.pos += size - 1
    let at = start
    let v = length
    while (v > 127) {
      this.buf[at++] = (v & 127) | 128
      v >>>= 7
    }
    this.buf[at] = v
  }

  /** A copy of what was written since `start`, for the caches. */
  copy(start: number): Uint8Array {
    return new Uint8Array(this.buf.subarray(start, this.pos))
  }
}

/** Hex digits' values by character code; other characters as the SDK's hexToBinary reads them. */
const NIBBLE = Uint8Array.from({ length: 128 }, (_, code) => (code <= 57 ? code - 48 : code >= 97 ? code - 87 : code - 55) & 255)

/**
 * A protobuf reader over `data` from `pos` to `end`. A nested message is read by message(), a
 * reader over the same buffer, and strings straight from it: no copy or view per field (the trace
 * store decodes thousands of spans per listing).
 */
export class ProtoReader {
  private pos: number
  private readonly end: number
  private readonly data: Buffer

  constructor(data: Uint8Array, pos = 0, end = data.length) {
    this.data = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    this.pos = pos
    this.end = end
  }

  more(): boolean {
    return this.pos < this.end
  }

  private byte(): number {
    if (this.pos >= this.end) throw new Error('truncated varint')
    return this.data[this.pos++]!
  }

  varint(): number {
    let value = 0
    let scale = 1
    for (;;) {
      const byte = this.byte()
      value += (byte & 127) * scale
      if (byte < 128) return value
      scale *= 128
    }
  }

  tag(): [field: number, wire: number] {
    const tag = this.varint()
    return [Math.floor(tag / 8), tag & 7]
  }

  /** A varint read as a signed 64-bit integer (negative ones are ten bytes of two's complement). */
  int64(): number {
    let value = 0n
    let shift = 0n
    for (;;) {
      const byte = this.byte()
      value |= BigInt(byte & 127) << shift
      if (byte < 128) return Number(BigInt.asIntN(64, value))
      shift += 7n
    }
  }

  /** A fixed64 as an unsigned integer (nanoseconds since the epoch exceed 2^53). */
  fixed64(): bigint {
    const low = this.fixed32()
    return (BigInt(this.fixed32()) << 32n) | BigInt(low)
  }

  fixed32(): number {
    const at = this.advance(4)
    return this.data.readUInt32LE(at)
  }

  double(): number {
    const at = this.advance(8)
    return this.data.readDoubleLE(at)
  }

  string(): string {
    const length = this.varint()
    const at = this.advance(length)
    return this.data.toString('utf8', at, at + length)
  }

  bytes(): Uint8Array {
    const length = this.varint()
    const at = this.advance(length)
    return this.data.subarray(at, at + length)
  }

  /** A length-delimited field's bytes as lowercase hex (trace and span ids). */
  hex(): string {
    const length = this.varint()
    const at = this.advance(length)
    return this.data.toString('hex', at, at + length)
  }

  /** A length-delimited nested message, as a reader over the same buffer. */
  message(): ProtoReader {
    const length = this.varint()
    const at = this.advance(length)
    return new ProtoReader(this.data, at, at + length)
  }

  skip(wire: number): void {
    if (wire === 0) this.varint()
    else if (wire === 1) this.advance(8)
    else if (wire === 2) this.advance(this.varint())
    else if (wire === 5) this.advance(4)
    else throw new Error(`unsupported wire type ${wire}`)
  }

  /** Moves past `length` bytes, returning where they start. */
  private advance(length: number): number {
    const at = this.pos
    if (at + length > this.end) throw new Error('truncated field')
    this.pos = at + length
    return at
  }
}
