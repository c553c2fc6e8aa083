// The chunks the trace store copies spans into, and which of them traces still point into.
//
// 256 KiB each (about 100 requests' spans), smaller for a small store so a few fit its bound. A
// chunk no trace points into any more is kept (two at most) and written again, so holding spans
// allocates no buffer per span or per trace. Before, the store kept the exporter's batch buffers
// themselves: each batch outlived several scavenges and its memory came back only with a full GC,
// about 15 % of a request's CPU at c=32 (bench/RESULTS.md, sixth round).

const MAX_CHUNK_BYTES = 256 * 1024
const MIN_CHUNK_BYTES = 4 * 1024
/** Chunks no trace points into, kept for reuse (more are left to the GC). */
const MAX_SPARE_CHUNKS = 2

export class TraceChunks {
  /** Each chunk's size; a span over a quarter of it is better kept apart. */
  readonly size: number
  /** The chunk spans are copied into now, and how much of it is written. */
  private chunk: Uint8Array = new Uint8Array(0)
  private used = 0
  private readonly spares: Uint8Array[] = []
  /** The chunks traces point into, and how many traces point into each. */
  private readonly users = new Map<Uint8Array, number>()

  constructor(maxBytes: number) {
    this.size = Math.max(MIN_CHUNK_BYTES, Math.min(MAX_CHUNK_BYTES, 2 ** Math.floor(Math.log2(maxBytes / 16))))
  }

  /** The chunk spans are copied into now. */
  get current(): Uint8Array {
    return this.chunk
  }

  /** Whether a trace whose spans lie in `chunk` can have `length` more bytes beside them. */
  hasRoom(chunk: Uint8Array, length: number): boolean {
    return chunk === this.chunk && this.used + length <= chunk.length
  }

  /**
   * Makes `current` the chunk a trace's first span of `length` bytes goes into (a fresh one when
   * the current one is full) and counts the trace among its users; returns the bytes the store now
   * holds more: the whole chunk when it is new to the store, else none.
   */
  open(length: number): number {
    if (this.used + length > this.chunk.length) this.next()
    const users = this.users.get(this.chunk)
    this.users.set(this.chunk, (users ?? 0) + 1)
    return users === undefined ? this.chunk.byteLength : 0
  }

  /** Copies `bytes` to the end of the current chunk (opened for its trace); returns where they start. */
  put(bytes: Uint8Array): number {
    const at = this.used
    this.chunk.set(bytes, at)
    this.used += bytes.length
    return at
  }

  /** One trace fewer in `chunk`; returns the bytes the store no longer holds (the whole chunk, with its last trace). */
  release(chunk: Uint8Array): number {
    const users = this.users.get(chunk)! - 1
    if (users > 0) {
      this.users.set(chunk, users)
      return 0
    }
    this.users.delete(chunk)
    if (chunk !== this.chunk) this.spare(chunk)
    return chunk.byteLength
  }

  /** A chunk to copy spans into: a spare one, or a new one; the one before is kept while traces point into it. */
  private next(): void {
    const previous = this.chunk
    this.chunk = this.spares.pop() ?? new Uint8Array(this.size)
    this.used = 0
    if (previous.length > 0 && !this.users.has(previous)) this.spare(previous)
  }

  private spare(chunk: Uint8Array): void {
    if (this.spares.length < MAX_SPARE_CHUNKS) this.spares.push(chunk)
  }
}
