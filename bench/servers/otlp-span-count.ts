// Counts the spans of an OTLP/protobuf ExportTraceServiceRequest by kind and name, walking its
// bytes once: ResourceSpans (1) → ScopeSpans (2) → Span (2) → name (5) and kind (6), every other
// field skipped by its wire type. The OTLP sink counts each trace post this way as it arrives, and
// keeps only one in CHECK_EVERY to decode whole at the end: keeping them all to decode them at the
// end (protobufjs) cost the sink 17–25 µs of CPU per telemetry-on request on the two cores the
// gateway under test shares (bench/RESULTS.md, seventeenth round). A post that is not well-formed
// protobuf of this shape throws.
// Field numbers: open-telemetry/opentelemetry-proto v1.5.0 (test/support/otlp-proto.ts).

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']

/** The sink decodes each process's first trace post and one in this many after it whole with protobufjs (the walk checks framing only). */
export const CHECK_EVERY = 8

export interface SpanCounts {
  total: number
  /** `KIND name` → spans, as the sink reports them ("SERVER POST /v1/chat/completions"). */
  byName: Record<string, number>
}

export function countTraceRequest(buf: Buffer, counts: SpanCounts): void {
  const r = new Walker(buf, 0, buf.length)
  // A post is counted whole or not at all: the spans of one that turns out malformed are not kept.
  const found: string[] = []
  while (r.more()) {
    const [field, wire] = r.tag()
    if (field === 1 && wire === 2) resourceSpans(r.sub(), found)
    else r.skip(wire)
  }
  for (const name of found) counts.byName[name] = (counts.byName[name] ?? 0) + 1
  counts.total += found.length
}

function resourceSpans(r: Walker, found: string[]): void {
  while (r.more()) {
    const [field, wire] = r.tag()
    if (field === 2 && wire === 2) scopeSpans(r.sub(), found)
    else r.skip(wire)
  }
}

function scopeSpans(r: Walker, found: string[]): void {
  while (r.more()) {
    const [field, wire] = r.tag()
    if (field === 2 && wire === 2) found.push(span(r.sub()))
    else r.skip(wire)
  }
}

function span(r: Walker): string {
  let name = ''
  let kind = 0
  while (r.more()) {
    const [field, wire] = r.tag()
    if (field === 5 && wire === 2) name = r.name()
    else if (field === 6 && wire === 0) kind = r.varint()
    else r.skip(wire)
  }
  return `${KINDS[kind] ?? kind} ${name}`
}

/** Span names met so far, as bytes and as text: a gateway's spans have a handful, and comparing bytes costs less than a string each. */
const names: Array<{ bytes: Buffer; text: string }> = []
const MAX_NAMES = 64

class Walker {
  private readonly buf: Buffer
  private pos: number
  private readonly end: number

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf
    this.pos = pos
    this.end = end
  }

  more(): boolean {
    return this.pos < this.end
  }

  tag(): [number, number] {
    const tag = this.varint()
    const field = Math.floor(tag / 8)
    if (field === 0) throw new Error('field number 0')
    return [field, tag & 7]
  }

  varint(): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('varint past the end')
      const byte = this.buf[this.pos++]!
      value += (byte & 0x7f) * scale
      if (byte < 0x80) return value
      scale *= 128
    }
    throw new Error('varint longer than 10 bytes')
  }

  /** The length-delimited field at the cursor, as a walker of its own; the cursor moves past it. */
  sub(): Walker {
    const length = this.varint()
    const at = this.pos
    this.advance(length)
    return new Walker(this.buf, at, at + length)
  }

  /** A span name (a UTF-8 string field), the same string for the same bytes while few names have been met. */
  name(): string {
    const length = this.varint()
    const at = this.pos
    this.advance(length)
    const { buf } = this
    for (const known of names) {
      if (known.bytes.length !== length) continue
      let i = 0
      while (i < length && known.bytes[i] === buf[at + i]) i++
      if (i === length) return known.text
    }
    const text = buf.toString('utf8', at, at + length)
    if (names.length < MAX_NAMES) names.push({ bytes: Buffer.from(buf.subarray(at, at + length)), text })
    return text
  }

  skip(wire: number): void {
    if (wire === 0) this.varint()
    else if (wire === 1) this.advance(8)
    else if (wire === 2) this.advance(this.varint())
    else if (wire === 5) this.advance(4)
    else throw new Error(`wire type ${wire}`)
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new Error('field past the end of its message')
    this.pos += n
  }
}
