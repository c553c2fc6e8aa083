// A bounded in-memory store of recent traces, fed by a span processor beside the exporter, so a
// returned trace_id leads somewhere on a laptop without Jaeger: GET /v1/traces/{id} and the
// /traces pages read it. Bounded by trace count and by an estimate of bytes; the trace written
// longest ago goes first. It runs for every span of every request, so onEnd stays cheap: it
// copies the span's strings (trace-store-copy.ts) and adds up a size estimate; no JSON, no timers.
import { SpanKind, SpanStatusCode, type Attributes, type HrTime, type Link } from '@opentelemetry/api'
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace'
import { LINK_ATTR, LINK_TYPE_EVALUATION } from './names.ts'
import { StringCopies } from './trace-store-copy.ts'

export { MAX_STORED_STRING_CHARS } from './trace-store-copy.ts'

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

/** A link as the store keeps it: its own copies of the ids and attributes. */
interface LinkRecord {
  traceId: string
  spanId: string
  attributes: Attributes
}

/** What onEnd keeps of a span: its own copy of every string (nothing that pins a larger one). */
interface SpanRecord {
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  name: string
  kind: SpanKind
  startTime: HrTime
  duration: HrTime
  statusCode: SpanStatusCode
  statusMessage: string | undefined
  attributes: Attributes
  links: LinkRecord[]
  scope: string
  bytes: number
}

interface TraceEntry {
  traceId: string
  spans: SpanRecord[]
  evaluations: SpanRecord[]
  bytes: number
  dropped: number
}

export const DEFAULT_MAX_SPANS_PER_TRACE = 2000
/** Per trace; an evaluation list beyond this would be a loop gone wrong, not a review. */
const MAX_EVALUATIONS_PER_TRACE = 200

// The estimate (calibrated against heap snapshots with bench/trace-store.ts): the record and its
// status/links arrays, plus per attribute a dictionary slot and its value. Strings count a byte a
// character and a header (two a character for long text V8 stores two-byte, see valueBytes), and
// shared strings are counted per span.
const SPAN_BYTES = 360
const ATTRIBUTE_BYTES = 40
const STRING_BYTES = 24
const LINK_BYTES = 160
const TRACE_BYTES = 400
const NO_LINKS: LinkRecord[] = []

const KIND_NAMES: Record<number, SpanKindName> = {
  [SpanKind.INTERNAL]: 'INTERNAL',
  [SpanKind.SERVER]: 'SERVER',
  [SpanKind.CLIENT]: 'CLIENT',
  [SpanKind.PRODUCER]: 'PRODUCER',
  [SpanKind.CONSUMER]: 'CONSUMER',
}
const STATUS_NAMES: Record<number, StatusCodeName> = {
  [SpanStatusCode.UNSET]: 'UNSET',
  [SpanStatusCode.OK]: 'OK',
  [SpanStatusCode.ERROR]: 'ERROR',
}

/** A character V8 cannot store in one byte: the whole string then takes two per character. */
const TWO_BYTE_CHAR = /[^\u0000-\u00ff]/

function valueBytes(value: unknown): number {
  // Short strings are counted at one byte a character without looking (a few bytes off at most);
  // a long one of Chinese text or emoji holds twice its length.
  if (typeof value === 'string') return STRING_BYTES + (value.length > 256 && TWO_BYTE_CHAR.test(value) ? 2 : 1) * value.length
  if (Array.isArray(value)) {
    let sum = STRING_BYTES
    for (const item of value) sum += valueBytes(item)
    return sum
  }
  return 8
}

function attributesBytes(attributes: Attributes): number {
  let sum = 0
  for (const key in attributes) sum += ATTRIBUTE_BYTES + key.length + valueBytes(attributes[key])
  return sum
}


function isEvaluationLink(link: LinkRecord): boolean {
  return link.attributes[LINK_ATTR.type] === LINK_TYPE_EVALUATION
}

const hrMs = (time: HrTime) => time[0] * 1000 + time[1] / 1e6

export class TraceStore implements SpanProcessor {
  readonly maxTraces: number
  readonly maxBytes: number
  readonly maxSpansPerTrace: number
  /** A trace may take this share of maxBytes at most, so one trace never evicts all the others. */
  private readonly maxTraceBytes: number
  /** Oldest first: a trace moves to the end whenever one of its spans ends. */
  private readonly traces = new Map<string, TraceEntry>()
  private lastTraceId: string | undefined
  private bytes = 0
  private evicted = 0
  private readonly copies = new StringCopies()

  constructor(options: TraceStoreOptions) {
    this.maxTraces = options.maxTraces
    this.maxBytes = options.maxBytes
    this.maxSpansPerTrace = options.maxSpansPerTrace ?? DEFAULT_MAX_SPANS_PER_TRACE
    this.maxTraceBytes = Math.floor(options.maxBytes / 4)
  }

  get enabled(): boolean {
    return this.maxTraces > 0
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.maxTraces <= 0) return
    const context = span.spanContext()
    const entry = this.entryFor(context.traceId)
    const copies = this.copies
    const name = copies.string(span.name)
    const attributes = copies.attributes(span.attributes)
    const statusMessage = span.status.message ? copies.string(span.status.message) : undefined
    const links = span.links.length === 0 ? NO_LINKS : span.links.map((link) => this.keptLink(link))
    let bytes = SPAN_BYTES + name.length + attributesBytes(attributes) + (statusMessage ? valueBytes(statusMessage) : 0)
    for (const link of links) bytes += LINK_BYTES + attributesBytes(link.attributes)
    const record: SpanRecord = {
      traceId: entry.traceId,
      // The SDK makes ids as fresh strings; a remote parent's id is parsed out of a caller's header.
      spanId: context.spanId,
      parentSpanId: span.parentSpanContext?.isRemote ? copies.string(span.parentSpanContext.spanId) : span.parentSpanContext?.spanId,
      name,
      kind: span.kind,
      startTime: span.startTime,
      duration: span.duration,
      statusCode: span.status.code,
      statusMessage,
      attributes,
      links,
      // A tracer's own constant name (this gateway, an instrumentation package): nothing to copy.
      scope: span.instrumentationScope.name,
      bytes,
    }
    if (entry.spans.length >= this.maxSpansPerTrace || entry.bytes + bytes > this.maxTraceBytes) {
      entry.dropped++
    } else {
      entry.spans.push(record)
      entry.bytes += bytes
      this.bytes += bytes
    }
    if (links.length > 0) this.indexEvaluation(record)
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
    return this.traces.has(traceId)
  }

  get(traceId: string): StoredTrace | undefined {
    const entry = this.traces.get(traceId)
    return entry && toStoredTrace(entry)
  }

  /**
   * Newest first (by start time; the one written last first when they started together), at most
   * `limit`, only those `include` accepts when given (read until `limit` are found).
   */
  recent(limit: number, include?: (trace: StoredTrace) => boolean): StoredTrace[] {
    const entries = [...this.traces.values()].reverse().map((entry) => ({ entry, start: startMs(entry) }))
    entries.sort((a, b) => b.start - a.start)
    const out: StoredTrace[] = []
    for (const { entry } of entries) {
      if (out.length >= limit) break
      const trace = toStoredTrace(entry)
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
    for (const entry of this.traces.values()) {
      const start = startMs(entry)
      if (oldest === undefined || start < oldest) oldest = start
    }
    return oldest
  }

  private keptLink(link: Link): LinkRecord {
    const { traceId, spanId } = link.context
    return { traceId: this.copies.string(traceId), spanId: this.copies.string(spanId), attributes: this.copies.attributes(link.attributes) }
  }

  private entryFor(traceId: string): TraceEntry {
    let entry = this.traces.get(traceId)
    if (!entry) {
      // The id may be a slice of a caller's traceparent header: the store keys and keeps its own copy.
      const id = this.copies.string(traceId)
      entry = { traceId: id, spans: [], evaluations: [], bytes: TRACE_BYTES, dropped: 0 }
      this.bytes += TRACE_BYTES
      this.traces.set(id, entry)
    } else if (this.lastTraceId !== traceId) {
      this.traces.delete(traceId)
      this.traces.set(entry.traceId, entry)
    }
    this.lastTraceId = entry.traceId
    return entry
  }

  /** An evaluation span is also listed with the trace it evaluates, when that one is held. */
  private indexEvaluation(record: SpanRecord): void {
    for (const link of record.links) {
      if (!isEvaluationLink(link)) continue
      const target = this.traces.get(link.traceId)
      if (!target || target.traceId === record.traceId || target.evaluations.length >= MAX_EVALUATIONS_PER_TRACE) continue
      if (target.evaluations.includes(record)) continue
      target.evaluations.push(record)
      target.bytes += record.bytes
      this.bytes += record.bytes
    }
  }

  private evictBeyondBounds(): void {
    while (this.traces.size > this.maxTraces || (this.bytes > this.maxBytes && this.traces.size > 1)) {
      const oldest = this.traces.keys().next().value
      if (oldest === undefined) return
      const entry = this.traces.get(oldest)!
      this.traces.delete(oldest)
      this.bytes -= entry.bytes
      this.evicted++
      if (this.lastTraceId === oldest) this.lastTraceId = undefined
    }
  }
}

function startMs(entry: TraceEntry): number {
  let start = Infinity
  for (const span of entry.spans) start = Math.min(start, hrMs(span.startTime))
  return start === Infinity ? 0 : start
}

function plainAttributes(attributes: Attributes | undefined): Record<string, StoredValue> {
  const out: Record<string, StoredValue> = {}
  if (!attributes) return out
  for (const key in attributes) {
    const value = attributes[key]
    if (value !== undefined) out[key] = value as StoredValue
  }
  return out
}

function toStoredSpan(record: SpanRecord): StoredSpan {
  const [seconds, nanos] = record.startTime
  const span: StoredSpan = {
    trace_id: record.traceId,
    span_id: record.spanId,
    parent_span_id: record.parentSpanId ?? null,
    name: record.name,
    kind: KIND_NAMES[record.kind] ?? 'INTERNAL',
    start_time_unix_nano: seconds === 0 ? String(nanos) : `${seconds}${String(nanos).padStart(9, '0')}`,
    start_ms: hrMs(record.startTime),
    duration_ms: hrMs(record.duration),
    status: { code: STATUS_NAMES[record.statusCode] ?? 'UNSET' },
    attributes: plainAttributes(record.attributes),
    links: record.links.map((link) => ({
      trace_id: link.traceId,
      span_id: link.spanId,
      attributes: plainAttributes(link.attributes),
    })),
    scope: record.scope,
  }
  if (record.statusMessage) span.status.message = record.statusMessage
  return span
}

function toStoredTrace(entry: TraceEntry): StoredTrace {
  const spans = entry.spans.map(toStoredSpan)
  let start = Infinity
  let end = -Infinity
  for (const span of spans) {
    start = Math.min(start, span.start_ms)
    end = Math.max(end, span.start_ms + span.duration_ms)
  }
  return {
    trace_id: entry.traceId,
    spans,
    evaluations: entry.evaluations.map(toStoredSpan),
    dropped_spans: entry.dropped,
    start_ms: Number.isFinite(start) ? start : 0,
    end_ms: Number.isFinite(end) ? end : 0,
  }
}
