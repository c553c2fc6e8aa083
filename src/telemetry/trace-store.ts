// A bounded in-memory store of recent traces, fed by a span processor beside the exporter, so a
// returned trace_id leads somewhere on a laptop without Jaeger: GET /v1/traces/{id} and the
// /traces pages read it. Bounded by trace count and by bytes; the trace written longest ago goes
// first. It runs for every span of every request, so onEnd stays cheap: it copies the OTLP bytes
// the exporter has just encoded the span to into a chunk of its own, reused once no trace points
// into it (no buffer allocated per span or per trace), and decodes them on lookup (stored-span.ts).
import type { HrTime } from '@opentelemetry/api'
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace'
import { LINK_ATTR, LINK_TYPE_EVALUATION } from './names.ts'
import { TraceChunks } from './trace-chunks.ts'
import { addSpan, TraceEntries, type EvaluationRecord, type TraceEntry } from './trace-entries.ts'
import { decodeStoredSpan, hasOverlongString, MAX_STORED_STRING_CHARS, StoreEncoding, type SpanBytes, type StoredSpan } from './stored-span.ts'

export { MAX_STORED_STRING_CHARS } from './stored-span.ts'
export type { SpanBytes, SpanKindName, StatusCodeName, StoredSpan, StoredValue } from './stored-span.ts'

/** Where a span's OTLP bytes may already be: the exporter, which encoded it just before the store's turn. */
export interface EncodedSpanSource {
  /**
   * Where `span` was encoded to, while that is at hand (undefined otherwise). The object and the
   * bytes may be reused for the next span: the store copies them at once.
   */
  encoded(span: ReadableSpan): SpanBytes | undefined
}

export interface StoredTrace {
  trace_id: string
  spans: StoredSpan[]
  /** `evaluation <name>` spans of other traces whose link points into this one. */
  evaluations: StoredSpan[]
  /** Spans refused once the trace reached its per-trace limits. */
  dropped_spans: number
  start_ms: number
  end_ms: number
}

export interface TraceStoreStats {
  traces: number
  /** The size estimate of what is held, in bytes. */
  bytes: number
  max_traces: number
  max_bytes: number
  max_spans_per_trace: number
  /** Traces evicted since start to stay within the bounds. */
  evicted_traces: number
}

export interface TraceStoreOptions {
  /** Most traces held; 0 disables the store (onEnd keeps nothing). */
  maxTraces: number
  /** Most bytes held, by the estimate below. */
  maxBytes: number
  /** One busy trace must not push every other out: spans beyond this are counted, not kept. */
  maxSpansPerTrace?: number
}

export const DEFAULT_MAX_SPANS_PER_TRACE = 2000
/** Per trace; an evaluation list beyond this would be a loop gone wrong, not a review. */
const MAX_EVALUATIONS_PER_TRACE = 200

// The estimate (calibrated with bench/trace-store.ts, JS heap and array buffers): per span its
// record and its bytes; per trace its entry and arrays, plus its own buffer's whole capacity.
// (Kept as calibrated when a record was an object of its own: an upper bound now.)
const SPAN_BYTES = 96
const TRACE_BYTES = 400
/** A chat request's four spans take 2–3 KB. */
const FIRST_BUFFER_BYTES = 4096
/** Tracer names (instrumentation scopes) told apart; more would be a tracer per request, named after it. */
const MAX_SCOPES = 256
const OTHER_SCOPE = '(a scope beyond the first 256)'

const hrMs = (time: HrTime) => time[0] * 1000 + time[1] / 1e6

/** The trace ids an evaluation span's links point into (SPEC: link.type = evaluation). */
function evaluatedTraces(span: ReadableSpan): string[] {
  const out: string[] = []
  for (const link of span.links) {
    if (link.attributes?.[LINK_ATTR.type] === LINK_TYPE_EVALUATION) out.push(link.context.traceId)
  }
  return out
}

export class TraceStore implements SpanProcessor {
  readonly maxTraces: number
  readonly maxBytes: number
  readonly maxSpansPerTrace: number
  /** A trace may take this share of maxBytes at most, so one trace never evicts all the others. */
  private readonly maxTraceBytes: number
  /** A trace moves to the newest end whenever one of its spans ends; the oldest is evicted first. */
  private readonly traces = new TraceEntries()
  private bytes = 0
  private evicted = 0
  private source: EncodedSpanSource | undefined
  /** For spans no exporter encoded (none runs, its queue was full), or that the store keeps cut. */
  private readonly encoding = new StoreEncoding()
  /** Where spans are copied to (trace-chunks.ts): a chunk counts whole against maxBytes while any trace points into it. */
  private readonly chunks: TraceChunks
  private readonly scopes: string[] = []

  constructor(options: TraceStoreOptions) {
    this.maxTraces = options.maxTraces
    this.maxBytes = options.maxBytes
    this.maxSpansPerTrace = options.maxSpansPerTrace ?? DEFAULT_MAX_SPANS_PER_TRACE
    this.maxTraceBytes = Math.floor(options.maxBytes / 4)
    this.chunks = new TraceChunks(options.maxBytes)
  }

  get enabled(): boolean {
    return this.maxTraces > 0
  }

  /** Copies each span's bytes from the exporter that encoded it just before, instead of encoding it again. */
  useEncodedSpans(source: EncodedSpanSource): void {
    this.source = source
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.maxTraces <= 0) return
    const entry = this.entryFor(span.spanContext().traceId)
    const { buf, at, end } = this.bytesOf(span)
    const length = end - at
    // In the current chunk while every span of the trace lies in it (none over a quarter of a
    // chunk); its own buffer otherwise.
    const shared = entry.own === undefined && 4 * length <= this.chunks.size &&
      (entry.chunk === undefined || this.chunks.hasRoom(entry.chunk, length))
    const need = entry.own ? entry.used + length : shared ? 0 : entry.shared + length
    const capacity = shared ? 0 : !entry.own || need > entry.own.length ? capacityFor(need) : entry.own.length
    const added = SPAN_BYTES + (shared ? length : capacity - (entry.own?.length ?? entry.shared))
    if (entry.count >= 3 * this.maxSpansPerTrace || entry.bytes + added > this.maxTraceBytes) {
      entry.dropped++
    } else {
      const scope = this.scopeIndex(span.instrumentationScope.name)
      const heldBefore = entry.bytes - entry.shared
      if (shared) {
        if (entry.chunk === undefined) {
          this.bytes += this.chunks.open(length)
          entry.chunk = this.chunks.current
        }
        addSpan(entry, this.chunks.put(buf.subarray(at, end)), length, scope)
        entry.shared += length
      } else {
        if (!entry.own || capacity > entry.own.length) this.moveToOwn(entry, capacity)
        entry.own!.set(buf.subarray(at, end), entry.used)
        addSpan(entry, entry.used, length, scope)
        entry.used += length
      }
      entry.bytes += added
      this.bytes += entry.bytes - entry.shared - heldBefore
      const startMs = hrMs(span.startTime)
      if (startMs < entry.startMs) entry.startMs = startMs
    }
    if (span.links.length > 0) this.indexEvaluation(buf.subarray(at, end), span, entry)
    this.evictBeyondBounds()
  }

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }

  /** What is held stays readable while the gateway drains; nothing more arrives. */
  shutdown(): Promise<void> {
    return Promise.resolve()
  }

  has(traceId: string): boolean {
    return this.traces.get(traceId) !== undefined
  }

  get(traceId: string): StoredTrace | undefined {
    const entry = this.traces.get(traceId)
    return entry && toStoredTrace(entry, this.scopes)
  }

  /**
   * Newest first (by start time; the one written last first when they started together), at most
   * `limit`, only those `include` accepts when given (read until `limit` are found).
   */
  recent(limit: number, include?: (trace: StoredTrace) => boolean): StoredTrace[] {
    const entries = [...this.traces.newestFirst()].map((entry) => ({ entry, start: startMs(entry) }))
    entries.sort((a, b) => b.start - a.start)
    const out: StoredTrace[] = []
    for (const { entry } of entries) {
      if (out.length >= limit) break
      const trace = toStoredTrace(entry, this.scopes)
      if (!include || include(trace)) out.push(trace)
    }
    return out
  }

  stats(): TraceStoreStats {
    return {
      traces: this.traces.size,
      bytes: this.bytes,
      max_traces: this.maxTraces,
      max_bytes: this.maxBytes,
      max_spans_per_trace: this.maxSpansPerTrace,
      evicted_traces: this.evicted,
    }
  }

  /** The oldest trace held, for the message that explains a miss. */
  oldestStartMs(): number | undefined {
    let oldest: number | undefined
    for (const entry of this.traces.newestFirst()) {
      const start = startMs(entry)
      if (oldest === undefined || start < oldest) oldest = start
    }
    return oldest
  }

  /** Where the exporter just wrote `span`, or the store's own encoding of it (valid until the next span). */
  private bytesOf(span: ReadableSpan): SpanBytes {
    const encoded = this.source?.encoded(span)
    if (encoded !== undefined && (encoded.end - encoded.at <= MAX_STORED_STRING_CHARS || !hasOverlongString(span))) return encoded
    return this.encoding.of(span, encoded)
  }

  /** The trace's spans into a buffer of its own of `capacity` bytes (their bytes, one after the other). */
  private moveToOwn(entry: TraceEntry, capacity: number): void {
    const own = new Uint8Array(capacity)
    const from = entry.own ?? entry.chunk
    const spans = entry.spans
    let used = 0
    for (let i = 0; i < entry.count; i += 3) {
      const at = spans[i]!
      const length = spans[i + 1]!
      own.set(from!.subarray(at, at + length), used)
      spans[i] = used
      used += length
    }
    if (entry.chunk) this.bytes -= this.chunks.release(entry.chunk)
    entry.chunk = undefined
    entry.own = own
    entry.used = used
    entry.shared = 0
  }

  private scopeIndex(name: string): number {
    const index = this.scopes.indexOf(name)
    if (index >= 0) return index
    if (this.scopes.length < MAX_SCOPES) return this.scopes.push(name) - 1
    const other = this.scopes.indexOf(OTHER_SCOPE)
    return other >= 0 ? other : this.scopes.push(OTHER_SCOPE) - 1
  }

  private entryFor(traceId: string): TraceEntry {
    return this.traces.written(traceId, this.counted)
  }

  /** What an evicted trace held is no longer counted (made once, as `counted`). */
  private readonly released = (entry: TraceEntry): void => {
    this.bytes -= entry.bytes - entry.shared
    if (entry.chunk) this.bytes -= this.chunks.release(entry.chunk)
  }

  /** A new trace's entry counts TRACE_BYTES (made once: no closure per span). */
  private readonly counted = (entry: TraceEntry): void => {
    entry.bytes = TRACE_BYTES
    this.bytes += TRACE_BYTES
  }

  /** An evaluation span is also listed with the traces it evaluates, when those are held. */
  private indexEvaluation(bytes: Uint8Array, span: ReadableSpan, own: TraceEntry): void {
    let record: EvaluationRecord | undefined
    for (const traceId of evaluatedTraces(span)) {
      const target = this.traces.get(traceId)
      if (!target || target === own || (target.evaluations?.length ?? 0) >= MAX_EVALUATIONS_PER_TRACE) continue
      if (record && target.evaluations?.includes(record)) continue
      record ??= { bytes: new Uint8Array(bytes), scope: span.instrumentationScope.name }
      ;(target.evaluations ??= []).push(record)
      target.bytes += SPAN_BYTES + bytes.length
      this.bytes += SPAN_BYTES + bytes.length
    }
  }

  private evictBeyondBounds(): void {
    while (this.traces.size > this.maxTraces || (this.bytes > this.maxBytes && this.traces.size > 1)) {
      if (!this.traces.evictOldest(this.released)) return
      this.evicted++
    }
  }
}

function startMs(entry: TraceEntry): number {
  return entry.startMs === Infinity ? 0 : entry.startMs
}

/** Room for `bytes`: the first buffer, or double until it fits. */
function capacityFor(bytes: number): number {
  let capacity = FIRST_BUFFER_BYTES
  while (capacity < bytes) capacity *= 2
  return capacity
}

function toStoredTrace(entry: TraceEntry, scopes: readonly string[]): StoredTrace {
  const buf = entry.own ?? entry.chunk
  const spans: StoredSpan[] = []
  for (let i = 0; i < entry.count; i += 3) {
    const at = entry.spans[i]!
    spans.push(decodeStoredSpan(buf!.subarray(at, at + entry.spans[i + 1]!), scopes[entry.spans[i + 2]!]!))
  }
  let start = Infinity
  let end = -Infinity
  for (const span of spans) {
    start = Math.min(start, span.start_ms)
    end = Math.max(end, span.start_ms + span.duration_ms)
  }
  return {
    trace_id: entry.traceId,
    spans,
    evaluations: entry.evaluations?.map((record) => decodeStoredSpan(record.bytes, record.scope)) ?? [],
    dropped_spans: entry.dropped,
    start_ms: Number.isFinite(start) ? start : 0,
    end_ms: Number.isFinite(end) ? end : 0,
  }
}
