// An in-process OTLP/HTTP collector for tests: the gateway under test exports
// to `receiver.url` and the test asserts on the decoded, flattened spans and
// metrics. Accepts protobuf (what the gateway's exporters send) and OTLP/JSON,
// optionally gzip-compressed. Fault modes let resilience tests simulate a
// collector that is down, stuck or slow.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import {
  decodeMetricsRequest, decodeTraceRequest,
  type Bytes, type Int64, type PbAnyValue, type PbDataPoint, type PbKeyValue,
  type PbMetric, type PbMetricsRequest, type PbScope, type PbTraceRequest,
} from './otlp-proto.ts'

/** null only appears inside arrays: the OTel API allows `[1, null]`, which is sent as an empty AnyValue. */
export type AttrValue = string | number | boolean | null | AttrValue[] | { [k: string]: AttrValue }
export type Attributes = Record<string, AttrValue>
export type SpanKindName = 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER'
export type StatusCodeName = 'UNSET' | 'OK' | 'ERROR'
export type Temporality = 'UNSPECIFIED' | 'DELTA' | 'CUMULATIVE'
export type MetricType = 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram' | 'summary'
export type ReceiverMode = 'ok' | 'fail' | 'hang' | 'slow'

export interface Scope { name: string; version: string }

export interface ReceivedSpan {
  traceId: string
  spanId: string
  /** '' for a root span. */
  parentSpanId: string
  name: string
  kind: SpanKindName
  startTimeUnixNano: bigint
  endTimeUnixNano: bigint
  durationMs: number
  attributes: Attributes
  /** Keys the span's attribute list holds more than once (OTLP asks for distinct keys; `attributes` keeps the last). */
  repeatedKeys: string[]
  status: { code: StatusCodeName; message: string }
  events: { name: string; attributes: Attributes }[]
  links: { traceId: string; spanId: string; attributes: Attributes }[]
  resource: Attributes
  scope: Scope
}

export interface ReceivedDataPoint {
  attributes: Attributes
  /** sum and gauge points. */
  value?: number
  /** histogram, exponential histogram and summary points. */
  count?: number
  sum?: number
  min?: number
  max?: number
  /** explicit-bucket histograms: bucketCounts.length === explicitBounds.length + 1. */
  bucketCounts?: number[]
  explicitBounds?: number[]
  startTimeUnixNano: bigint
  timeUnixNano: bigint
}

export interface ReceivedMetric {
  name: string
  unit: string
  description: string
  type: MetricType
  isMonotonic?: boolean
  temporality?: Temporality
  resource: Attributes
  scope: Scope
  dataPoints: ReceivedDataPoint[]
}

export interface SpanTreeNode { span: ReceivedSpan; children: SpanTreeNode[] }

export interface OtlpReceiver {
  /** Base URL, e.g. http://127.0.0.1:40123: use as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string
  /** Every span received, in arrival order. The array is cleared in place by reset(). */
  readonly spans: ReceivedSpan[]
  /** One entry per metric per export request; cumulative exports repeat a metric each time. */
  readonly metricExports: ReceivedMetric[]
  /** POSTs received per signal, in every mode (a 'fail' request counts, though nothing is stored). */
  readonly requestCount: { traces: number; metrics: number }
  /** Bodies that could not be decoded (answered 400): a bug in the exporter or in this receiver. */
  readonly errors: string[]
  latestMetric(name: string): ReceivedMetric | undefined
  /** Polls `probe` until it returns something other than undefined or false. */
  waitFor<T>(probe: () => T | undefined | false, timeoutMs?: number): Promise<T>
  /** Resolves with all matching spans once there are at least `count`. */
  waitForSpans(predicate: (s: ReceivedSpan) => boolean, count?: number, timeoutMs?: number): Promise<ReceivedSpan[]>
  /** The spans of one trace as a forest; spans whose parent was not received become roots. */
  spanTree(traceId: string): SpanTreeNode[]
  setMode(mode: ReceiverMode, options?: { slowMs?: number }): void
  reset(): void
  close(): Promise<void>
}

const SPAN_KINDS: SpanKindName[] = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']
const STATUS_CODES: StatusCodeName[] = ['UNSET', 'OK', 'ERROR']
const TEMPORALITIES: Temporality[] = ['UNSPECIFIED', 'DELTA', 'CUMULATIVE']
const METRIC_TYPES: MetricType[] = ['sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary']
const POLL_MS = 20

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const metricExports: ReceivedMetric[] = []
  const requestCount = { traces: 0, metrics: 0 }
  const errors: string[] = []
  let mode: ReceiverMode = 'ok'
  let slowMs = 2000
  // Kept so close() can cancel them: a pending slow answer must not hold the test process open.
  const slowTimers = new Set<NodeJS.Timeout>()

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const signal = req.url === '/v1/traces' ? 'traces' : req.url === '/v1/metrics' ? 'metrics' : undefined
    if (req.method !== 'POST' || !signal) {
      res.writeHead(404).end()
      return
    }
    let body = Buffer.concat(await req.toArray() as Buffer[])
    requestCount[signal]++
    if (mode === 'fail') {
      res.writeHead(503).end()
      return
    }
    if (mode === 'hang') return // never answered; close() destroys the socket

    const json = (req.headers['content-type'] ?? '').startsWith('application/json')
    let store: () => void
    try {
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      const text = () => body.toString('utf8')
      if (signal === 'traces') {
        const received = flattenSpans(json ? JSON.parse(text()) as PbTraceRequest : decodeTraceRequest(body))
        store = () => spans.push(...received)
      } else {
        const received = flattenMetrics(json ? JSON.parse(text()) as PbMetricsRequest : decodeMetricsRequest(body))
        store = () => metricExports.push(...received)
      }
    } catch (error) {
      errors.push(`${req.url}: ${String(error)}`)
      res.writeHead(400).end(String(error))
      return
    }
    // Stored only when answered, so data becomes visible when the exporter would consider it delivered.
    const answer = () => {
      store()
      // An empty Export*ServiceResponse encodes to zero bytes in protobuf, {} in JSON.
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
      res.end(json ? '{}' : undefined)
    }
    if (mode !== 'slow') return answer()
    const timer = setTimeout(() => {
      slowTimers.delete(timer)
      answer()
    }, slowMs)
    slowTimers.add(timer)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy()) // e.g. the client aborted mid-body
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo

  const seenSoFar = () => {
    const spanNames = [...new Set(spans.map((s) => s.name))]
    const metricNames = [...new Set(metricExports.map((m) => m.name))]
    return `spans seen: [${spanNames.join(', ')}]; metrics seen: [${metricNames.join(', ')}]; ` +
      `requests: traces=${requestCount.traces} metrics=${requestCount.metrics}; mode=${mode}` +
      (errors.length ? `; decode errors: ${errors.join(' | ')}` : '')
  }

  const receiver: OtlpReceiver = {
    url: `http://127.0.0.1:${port}`,
    spans,
    metricExports,
    requestCount,
    errors,

    latestMetric: (name) => metricExports.findLast((m) => m.name === name),

    waitFor(probe, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      return new Promise((resolve, reject) => {
        const poll = () => {
          let result
          try {
            result = probe()
          } catch (error) {
            return reject(error)
          }
          if (result !== undefined && result !== false) return resolve(result)
          if (Date.now() >= deadline) {
            return reject(new Error(`otlp-receiver: waitFor timed out after ${timeoutMs} ms; ${seenSoFar()}`))
          }
          setTimeout(poll, POLL_MS)
        }
        poll()
      })
    },

    waitForSpans(predicate, count = 1, timeoutMs) {
      return receiver.waitFor(() => {
        const matches = spans.filter(predicate)
        return matches.length >= count && matches
      }, timeoutMs)
    },

    spanTree(traceId) {
      const nodes = new Map<string, SpanTreeNode>()
      for (const span of spans) if (span.traceId === traceId) nodes.set(span.spanId, { span, children: [] })
      const roots: SpanTreeNode[] = []
      for (const node of nodes.values()) {
        const parent = nodes.get(node.span.parentSpanId)
        if (parent) parent.children.push(node)
        else roots.push(node)
      }
      const byStart = (a: SpanTreeNode, b: SpanTreeNode) => Number(a.span.startTimeUnixNano - b.span.startTimeUnixNano)
      for (const node of nodes.values()) node.children.sort(byStart)
      return roots.sort(byStart)
    },

    setMode(newMode, options) {
      mode = newMode
      slowMs = options?.slowMs ?? 2000
    },

    reset() {
      spans.length = 0
      metricExports.length = 0
      errors.length = 0
      requestCount.traces = 0
      requestCount.metrics = 0
    },

    close() {
      for (const timer of slowTimers) clearTimeout(timer)
      slowTimers.clear()
      if (!server.listening) return Promise.resolve()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // server.close() alone waits for keep-alive and hanging requests to finish.
      server.closeAllConnections()
      return closed
    },
  }
  return receiver
}

function flattenSpans(request: PbTraceRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = []
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      const scope = scopeOf(ss.scope)
      for (const s of ss.spans ?? []) {
        const startTimeUnixNano = nanos(s.startTimeUnixNano)
        const endTimeUnixNano = nanos(s.endTimeUnixNano)
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name ?? '',
          kind: SPAN_KINDS[s.kind ?? 0] ?? 'UNSPECIFIED',
          startTimeUnixNano,
          endTimeUnixNano,
          durationMs: Number(endTimeUnixNano - startTimeUnixNano) / 1e6,
          attributes: attributes(s.attributes),
          repeatedKeys: (s.attributes ?? []).map((kv) => kv.key ?? '').filter((key, i, keys) => keys.indexOf(key) !== i),
          status: { code: STATUS_CODES[s.status?.code ?? 0] ?? 'UNSET', message: s.status?.message ?? '' },
          events: (s.events ?? []).map((e) => ({ name: e.name ?? '', attributes: attributes(e.attributes) })),
          links: (s.links ?? []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: attributes(l.attributes) })),
          resource,
          scope,
        })
      }
    }
  }
  return out
}

function flattenMetrics(request: PbMetricsRequest): ReceivedMetric[] {
  const out: ReceivedMetric[] = []
  for (const rm of request.resourceMetrics ?? []) {
    const resource = attributes(rm.resource?.attributes)
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = scopeOf(sm.scope)
      for (const m of sm.metrics ?? []) out.push(flattenMetric(m, resource, scope))
    }
  }
  return out
}

function flattenMetric(m: PbMetric, resource: Attributes, scope: Scope): ReceivedMetric {
  const type = METRIC_TYPES.find((t) => m[t] !== undefined)
  if (!type) throw new Error(`otlp-receiver: metric ${m.name} has no data`)
  const data = m[type] ?? {}
  const metric: ReceivedMetric = {
    name: m.name ?? '',
    unit: m.unit ?? '',
    description: m.description ?? '',
    type,
    resource,
    scope,
    dataPoints: (data.dataPoints ?? []).map(dataPoint),
  }
  if (type === 'sum') metric.isMonotonic = data.isMonotonic ?? false
  if (type !== 'gauge' && type !== 'summary') metric.temporality = TEMPORALITIES[data.aggregationTemporality ?? 0] ?? 'UNSPECIFIED'
  return metric
}

function dataPoint(p: PbDataPoint): ReceivedDataPoint {
  const point: ReceivedDataPoint = {
    attributes: attributes(p.attributes),
    startTimeUnixNano: nanos(p.startTimeUnixNano),
    timeUnixNano: nanos(p.timeUnixNano),
  }
  // Only the fields present on the wire are copied, so each point shows its kind's fields only.
  if (p.asDouble !== undefined) point.value = Number(p.asDouble)
  if (p.asInt !== undefined) point.value = Number(p.asInt)
  for (const key of ['count', 'sum', 'min', 'max'] as const) if (p[key] !== undefined) point[key] = Number(p[key])
  if (p.bucketCounts) point.bucketCounts = p.bucketCounts.map(Number)
  if (p.explicitBounds) point.explicitBounds = p.explicitBounds.map(Number)
  return point
}

function scopeOf(scope: PbScope | undefined): Scope {
  return { name: scope?.name ?? '', version: scope?.version ?? '' }
}

function attributes(kvs: PbKeyValue[] | undefined): Attributes {
  const out: Attributes = {}
  for (const kv of kvs ?? []) out[kv.key ?? ''] = anyValue(kv.value)
  return out
}

// int64 values become numbers as promised by AttrValue; beyond 2^53 they lose precision.
function anyValue(v: PbAnyValue | undefined): AttrValue {
  if (v?.stringValue !== undefined) return v.stringValue
  if (v?.boolValue !== undefined) return v.boolValue
  if (v?.intValue !== undefined) return Number(v.intValue)
  if (v?.doubleValue !== undefined) return Number(v.doubleValue) // OTLP/JSON may send "NaN"
  if (v?.arrayValue) return (v.arrayValue.values ?? []).map(anyValue)
  if (v?.kvlistValue) return attributes(v.kvlistValue.values)
  if (v?.bytesValue !== undefined) return typeof v.bytesValue === 'string' ? v.bytesValue : hex(v.bytesValue)
  return null
}

/** OTLP/JSON already carries ids as hex (in any case); protobuf carries raw bytes. */
function hex(id: Bytes | undefined): string {
  if (id === undefined) return ''
  return typeof id === 'string' ? id.toLowerCase() : Buffer.from(id).toString('hex')
}

function nanos(value: Int64 | undefined): bigint {
  return BigInt(value ?? 0)
}
