// The trace store's held traces (trace-store.ts): by id, in the order they were last written to
// (oldest first, the order of eviction), each one object and one array of numbers however many
// spans it has. An evicted trace's entry and array are written again by the next new trace: a
// held trace outlives a scavenge, so a fresh entry and array per trace were promoted, and freed
// only by a full GC, ~250 bytes a request (bench/RESULTS.md, eighth round).

import { ownString } from './otlp-span-encoder.ts'

/** An evaluation span as listed with the trace it evaluates: a copy of its bytes of its own. */
export interface EvaluationRecord {
  bytes: Uint8Array
  scope: string
}

export interface TraceEntry {
  traceId: string
  /**
   * Per span, three numbers (addSpan): where its bytes start in `own` (or else `chunk`), their
   * length, and its scope's index in the store's scope names. The first `count` are this trace's;
   * the array may be longer, from the trace the entry held before.
   */
  spans: number[]
  count: number
  /** The traces written to before and after it. */
  older: TraceEntry | undefined
  newer: TraceEntry | undefined
  /** The chunk its spans lie in while they all lie in one (counted once per trace in the chunk's users). */
  chunk: Uint8Array | undefined
  /**
   * Its spans' bytes of its own, one after the other (doubling when full), once they did not all
   * lie in one chunk: a trace that goes on for long must not keep old chunks from being reused. A
   * request's spans end together and land in one chunk, so most traces never allocate this (an
   * ArrayBuffer costs 1.5–4 µs to make and more to free).
   */
  own: Uint8Array | undefined
  used: number
  /** The bytes of its spans that lie in `chunk` (counted by the store once per chunk). */
  shared: number
  evaluations: EvaluationRecord[] | undefined
  /** The earliest start of its spans, for listing newest first. */
  startMs: number
  /** What the store counts for it against its bound. */
  bytes: number
  dropped: number
}

/** An evicted entry's array is written again up to this length (32 spans), not a long trace's. */
const MAX_REUSED_SPAN_NUMBERS = 96

export class TraceEntries {
  private readonly byId = new Map<string, TraceEntry>()
  private oldestEntry: TraceEntry | undefined
  private newest: TraceEntry | undefined
  /** The entry evicted last, for the next new trace. */
  private spare: TraceEntry | undefined

  get size(): number {
    return this.byId.size
  }

  get(traceId: string): TraceEntry | undefined {
    return this.byId.get(traceId)
  }

  /** Every held trace, newest first. */
  *newestFirst(): Generator<TraceEntry> {
    for (let entry = this.newest; entry !== undefined; entry = entry.older) yield entry
  }

  /** The entry of `traceId`, moved to the newest end; `fresh(entry)` is called for a new one, to set its `bytes`. */
  written(traceId: string, fresh: (entry: TraceEntry) => void): TraceEntry {
    // A request's spans end one after the other: most spans are the newest trace's.
    const newest = this.newest
    if (newest !== undefined && newest.traceId === traceId) return newest
    let entry = this.byId.get(traceId)
    if (entry === undefined) {
      // The id may be a slice of a caller's traceparent header: the store keeps its own copy.
      entry = this.recycled(ownString(traceId))
      this.byId.set(entry.traceId, entry)
      fresh(entry)
    } else this.unlink(entry)
    entry.older = this.newest
    if (this.newest) this.newest.newer = entry
    else this.oldestEntry = entry
    this.newest = entry
    return entry
  }

  /**
   * Forgets the oldest trace, after `release(entry)` has given back what it held; its entry is
   * kept for the next new trace, holding no bytes meanwhile. False when none is held.
   */
  evictOldest(release: (entry: TraceEntry) => void): boolean {
    const entry = this.oldestEntry
    if (entry === undefined) return false
    this.unlink(entry)
    this.byId.delete(entry.traceId)
    release(entry)
    entry.chunk = entry.own = entry.evaluations = undefined
    if (entry.spans.length > MAX_REUSED_SPAN_NUMBERS) entry.spans = []
    this.spare = entry
    return true
  }

  private recycled(traceId: string): TraceEntry {
    const entry = this.spare
    if (entry === undefined) {
      return { traceId, spans: [], count: 0, older: undefined, newer: undefined, chunk: undefined, own: undefined, used: 0, shared: 0, evaluations: undefined, startMs: Infinity, bytes: 0, dropped: 0 }
    }
    this.spare = undefined
    entry.traceId = traceId
    // Its buffer, chunk and evaluations went when it was evicted (evictOldest).
    entry.count = entry.used = entry.shared = entry.bytes = entry.dropped = 0
    entry.startMs = Infinity
    return entry
  }

  private unlink(entry: TraceEntry): void {
    if (entry.older) entry.older.newer = entry.newer
    else this.oldestEntry = entry.newer
    if (entry.newer) entry.newer.older = entry.older
    else this.newest = entry.older
    entry.older = entry.newer = undefined
  }
}

/** A span's three numbers, over what the entry's trace before left (no array allocated). */
export function addSpan(entry: TraceEntry, at: number, length: number, scope: number): void {
  const { spans, count } = entry
  spans[count] = at
  spans[count + 1] = length
  spans[count + 2] = scope
  entry.count = count + 3
}
