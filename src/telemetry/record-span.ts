// A span as the telemetry worker reads it back from its record (span-record-reader.ts): what the
// worker's encoder, export processor and trace store read of the SDK's spans, with its ids kept
// as bytes.
import type { AttributeValue, Attributes, HrTime, Link, SpanContext, TraceState } from '@opentelemetry/api'
import type { TimedEvent } from '@opentelemetry/sdk-trace'
import type { Resource, Scope } from './span-records.ts'

/** Where a span's ids lie in its id bytes (RecordSpan.idBytes): trace id, span id, parent id (zeros without one). */
export const TRACE_ID_BYTES = 16
export const SPAN_ID_BYTES = 8
export const SPAN_ID_AT = 16
export const PARENT_ID_AT = 24
export const ID_BYTES = 32

/** A span context whose ids are hex made from their bytes when first asked for. */
export class RecordContext implements SpanContext {
  traceFlags: number
  isRemote?: boolean
  traceState?: TraceState
  private readonly ids: Buffer
  private readonly spanAt: number
  private traceHex: string | undefined
  private spanHex: string | undefined

  constructor(ids: Buffer, spanAt: number, traceFlags: number) {
    this.ids = ids
    this.spanAt = spanAt
    this.traceFlags = traceFlags
  }

  get traceId(): string {
    return (this.traceHex ??= this.ids.toString('hex', 0, TRACE_ID_BYTES))
  }

  get spanId(): string {
    return (this.spanHex ??= this.ids.toString('hex', this.spanAt, this.spanAt + SPAN_ID_BYTES))
  }
}

/** A span read back from its record: what ReadableSpan offers, attributes kept flat as the gateway's tracer keeps them. */
export class RecordSpan {
  readonly ended = true
  /** `attributeKeys` is the reader's array for this name and these keys, shared by its spans (otlp-span-encoder.ts). */
  readonly keysShared = true
  name: string
  kind = 0
  context: SpanContext
  parentSpanContext: SpanContext | undefined
  startTime: HrTime
  endTime: HrTime
  duration: HrTime
  attributeKeys: readonly string[]
  attributeValues: AttributeValue[]
  /** The trace id, span id and parent id as bytes (IdBytes); undefined for ids of other lengths. */
  idBytes: Buffer | undefined
  status: { code: number; message?: string } = { code: 0 }
  droppedAttributesCount = 0
  droppedEventsCount = 0
  droppedLinksCount = 0
  events: TimedEvent[] = []
  links: Link[] = []
  resource: Resource
  instrumentationScope: Scope

  constructor(name: string, context: SpanContext, ids: Buffer | undefined, startTime: HrTime, endTime: HrTime, keys: readonly string[], values: AttributeValue[], resource: Resource, scope: Scope) {
    this.name = name
    this.context = context
    this.idBytes = ids
    this.startTime = startTime
    this.endTime = endTime
    this.attributeKeys = keys
    this.attributeValues = values
    this.resource = resource
    this.instrumentationScope = scope
    let s = endTime[0] - startTime[0]
    let ns = endTime[1] - startTime[1]
    if (ns < 0) {
      s--
      ns += 1e9
    }
    this.duration = [s, ns]
  }

  spanContext(): SpanContext {
    return this.context
  }

  get attributes(): Attributes {
    const object: Attributes = {}
    for (let i = 0; i < this.attributeKeys.length; i++) object[this.attributeKeys[i]!] = this.attributeValues[i]
    return object
  }
}
