// A batch of spans on its way to the collector, kept as the bytes each span was encoded to when
// it ended (otlp-span-encoder.ts), then laid out once as the request the collector receives.
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { ProtoReader, ProtoWriter } from './protobuf.ts'
import { SpanEncoder, TAG } from './otlp-span-encoder.ts'

type Resource = ReadableSpan['resource']
type Scope = ReadableSpan['instrumentationScope']

/**
 * The spans of one export request, encoded as they end (each as ScopeSpans.spans, one after the
 * other in one buffer), with the resource and scope each belongs to.
 */
export class SpanBatch {
  count = 0
  readonly writer: ProtoWriter
  private readonly groups: { resource: Resource; scope: Scope }[] = []
  /** Per span: its (resource, scope) group and where its bytes end. */
  private readonly groupOf: number[] = []
  private readonly ends: number[] = []

  constructor(writer: ProtoWriter) {
    this.writer = writer
    writer.pos = 0
  }

  add(encoder: SpanEncoder, span: ReadableSpan): void {
    const start = this.writer.pos
    try {
      encoder.span(this.writer, span)
    } catch (error) {
      this.writer.pos = start
      throw error
    }
    this.groupOf.push(this.group(span.resource, span.instrumentationScope))
    this.ends.push(this.writer.pos)
    this.count++
  }

  /** Where the span added last lies (ScopeSpans.spans: tag, length, Span), written into `into`. */
  lastSpan(into: { buf: Uint8Array; at: number; end: number }): void {
    into.buf = this.writer.buf
    into.at = this.count > 1 ? this.ends[this.count - 2]! : 0
    into.end = this.ends[this.count - 1]!
  }

  /** The distinct resources, whose late attributes (async detectors) must be in before `request`. */
  resources(): Resource[] {
    return [...new Set(this.groups.map((group) => group.resource))]
  }

  /**
   * The ExportTraceServiceRequest: the spans under their resource and scope, each in the order it
   * first appeared, as the SDK groups them.
   */
  request(encoder: SpanEncoder): Uint8Array {
    const out = new ProtoWriter(this.writer.pos + 1024)
    for (const resource of this.resources()) {
      out.uint(TAG.requestResourceSpans)
      const resourceSpans = out.begin()
      out.raw(encoder.resourceBytes(resource))
      this.groups.forEach((group, index) => {
        if (group.resource !== resource) return
        out.uint(TAG.resourceSpansScopeSpans)
        const scopeSpans = out.begin()
        out.raw(encoder.scopeBytes(group.scope))
        this.copySpans(out, index)
        if (group.scope.schemaUrl) {
          out.uint(TAG.scopeSpansSchemaUrl)
          out.string(group.scope.schemaUrl)
        }
        out.end(scopeSpans)
      })
      if (resource.schemaUrl) {
        out.uint(TAG.resourceSpansSchemaUrl)
        out.string(resource.schemaUrl)
      }
      out.end(resourceSpans)
    }
    return out.buf.subarray(0, out.pos)
  }

  /** Appends the group's spans, copying each run of neighbours at once. */
  private copySpans(out: ProtoWriter, group: number): void {
    let runStart = -1
    let runEnd = 0
    for (let i = 0; i < this.count; i++) {
      const start = i === 0 ? 0 : this.ends[i - 1]!
      if (this.groupOf[i] !== group) continue
      if (start !== runEnd || runStart < 0) {
        if (runStart >= 0) out.raw(this.writer.buf.subarray(runStart, runEnd))
        runStart = start
      }
      runEnd = this.ends[i]!
    }
    if (runStart >= 0) out.raw(this.writer.buf.subarray(runStart, runEnd))
  }

  private group(resource: Resource, scope: Scope): number {
    for (let i = 0; i < this.groups.length; i++) {
      const group = this.groups[i]!
      if (group.resource === resource && group.scope === scope) return i
    }
    return this.groups.push({ resource, scope }) - 1
  }
}

/**
 * ExportTraceServiceResponse's partial_success (rejected_spans, error_message), for the SDK's
 * handler that logs it; anything else in the answer is skipped.
 */
export function decodeExportResponse(data: Uint8Array): { partialSuccess?: { rejectedSpans?: number; errorMessage?: string } } {
  const read = new ProtoReader(data)
  const response: ReturnType<typeof decodeExportResponse> = {}
  while (read.more()) {
    const [field, wire] = read.tag()
    if (field !== 1 || wire !== 2) {
      read.skip(wire)
      continue
    }
    const inner = new ProtoReader(read.bytes())
    const partialSuccess: NonNullable<typeof response.partialSuccess> = {}
    while (inner.more()) {
      const [innerField, innerWire] = inner.tag()
      if (innerField === 1 && innerWire === 0) partialSuccess.rejectedSpans = inner.varint()
      else if (innerField === 2 && innerWire === 2) partialSuccess.errorMessage = Buffer.from(inner.bytes()).toString('utf8')
      else inner.skip(innerWire)
    }
    response.partialSuccess = partialSuccess
  }
  return response
}

