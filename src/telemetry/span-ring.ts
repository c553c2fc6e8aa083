// A ring of span batches in shared memory, written by the gateway's main thread and read by the
// telemetry worker (telemetry-worker.ts): one writer, one reader. A batch is handed over by copying
// its bytes in and adding to shared counters, with no structured clone or message per batch
// (bench/RESULTS.md, tenth round). An entry is an 8-byte header (length, spans) and the bytes,
// never split by the end of the ring: an entry that does not fit before the end starts again at 0.

const HEADER = 8
/** A length that says "the rest of the ring is empty, go on at 0". */
const WRAP = 0xffffffff
/** Indexes in the shared state: bytes in use (entries and skipped ends), spans written and not yet read. */
const USED = 0
const SPANS = 1

export class SpanRing {
  readonly buffer: SharedArrayBuffer
  readonly state: SharedArrayBuffer
  private readonly bytes: Uint8Array
  private readonly view: DataView
  private readonly shared: Int32Array
  private readonly size: number
  /** The writer's next position, or the reader's: each side keeps its own. */
  private at = 0

  constructor(buffer: SharedArrayBuffer | number, state?: SharedArrayBuffer) {
    this.buffer = typeof buffer === 'number' ? new SharedArrayBuffer(buffer) : buffer
    this.state = state ?? new SharedArrayBuffer(8)
    this.bytes = new Uint8Array(this.buffer)
    // Each page written once now, by the thread that makes the ring: a first write into a page
    // costs a page fault, which on this VM cost the main thread ~3 µs a request until the ring had
    // gone round once (bench/RESULTS.md, thirteenth round).
    if (typeof buffer === 'number') this.bytes.fill(0)
    this.view = new DataView(this.buffer)
    this.shared = new Int32Array(this.state)
    this.size = this.bytes.length
  }

  /** Spans written and not yet read. */
  get pending(): number {
    return Atomics.load(this.shared, SPANS)
  }

  /** Copies `source[0, length)` in as one batch of `spans` spans; false when the ring has no room for it (nothing written). */
  write(source: Uint8Array, length: number, spans: number): boolean {
    const need = HEADER + length
    let used = Atomics.load(this.shared, USED)
    const left = this.size - this.at
    if (need > left) {
      if (used + left + need > this.size) return false
      if (left >= 4) this.view.setUint32(this.at, WRAP, true)
      Atomics.add(this.shared, USED, left)
      used += left
      this.at = 0
    }
    if (used + need > this.size) return false
    this.view.setUint32(this.at, length, true)
    this.view.setUint32(this.at + 4, spans, true)
    this.bytes.set(source.subarray(0, length), this.at + HEADER)
    this.at += need
    // After the bytes: the reader sees the counters move only once the entry is whole.
    Atomics.add(this.shared, SPANS, spans)
    Atomics.add(this.shared, USED, need)
    return true
  }

  /**
   * Hands each batch written since the last drain to `take` with its span count (its bytes are
   * valid during the call only), until `take` answers false: that batch stays for the next drain.
   * Returns how many batches were taken.
   */
  drain(take: (bytes: Uint8Array, spans: number) => boolean | void): number {
    const available = Atomics.load(this.shared, USED)
    let read = 0
    let batches = 0
    let spans = 0
    try {
      while (read < available) {
        const left = this.size - this.at
        if (left < HEADER || this.view.getUint32(this.at, true) === WRAP) {
          read += left
          this.at = 0
          continue
        }
        const length = this.view.getUint32(this.at, true)
        const count = this.view.getUint32(this.at + 4, true)
        const start = this.at + HEADER
        // Counted as read before `take` sees it: a batch that throws is not read again.
        this.at += HEADER + length
        read += HEADER + length
        spans += count
        batches++
        if (take(this.bytes.subarray(start, start + length), count) === false) {
          this.at -= HEADER + length
          read -= HEADER + length
          spans -= count
          batches--
          break
        }
      }
    } finally {
      Atomics.sub(this.shared, SPANS, spans)
      Atomics.sub(this.shared, USED, read)
    }
    return batches
  }
}
