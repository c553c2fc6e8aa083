// A collector stand-in: accepts OTLP/HTTP posts and counts them and their bytes. A gateway that
// exports to a path under it (OTEL_EXPORTER_OTLP_ENDPOINT=http://sink/KEY: posts to
// /KEY/v1/traces and /KEY/v1/metrics) has what it sent kept apart under KEY, so that what one
// gateway process exported can be checked against what it served:
//   GET /KEY → { traces, metrics, bytes, spans: { total, byName: {"SERVER POST /v1/…": n, …} },
//                lastMetrics: { "llm.requests": n, … } (the last metric post: sums, and histogram counts),
//                undecodable: posts that were not valid OTLP/protobuf }
// Its trace posts are counted as they arrive by a walk over their bytes (otlp-span-count.ts), which
// checks their frame, not every field: keeping them all to decode them at the end took CPU from the
// gateway under test on a 2-core machine. The first post of each KEY and one in CHECK_EVERY after it
// are kept and decoded whole with protobufjs when KEY is asked for (once the gateway has stopped);
// one that does not decode, or whose spans protobufjs counts otherwise, counts as undecodable.
// SINK_VERIFY=1 checks every post so, as it arrives. Its metric posts (one every few seconds) are
// decoded as they come, to keep the latest.
// Posts to /v1/… (no KEY) are only counted, as are all in the collector modes other than ok.
// GET / → { traces, metrics, bytes } over every post.
// COLLECTOR_MODE: ok (default), hang (black hole: reads the post, never answers), slow (answers
// after SLOW_MS), fail (503).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { decodeMetricsRequest, decodeTraceRequest, type PbMetricsRequest } from '../../test/support/otlp-proto.ts'
import { CHECK_EVERY, countTraceRequest, type SpanCounts } from './otlp-span-count.ts'

const mode = process.env.COLLECTOR_MODE ?? 'ok'
const slowMs = Number(process.env.SLOW_MS ?? 2000)
const counts = { traces: 0, metrics: 0, bytes: 0 }

const verify = process.env.SINK_VERIFY === '1'
const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']

interface Kept {
  traces: number
  metrics: number
  bytes: number
  spans: SpanCounts
  /** Posts kept to be decoded whole when asked for, with what the walk counted in each. */
  sampled: Array<{ raw: Buffer; counts: SpanCounts }>
  undecodable: number
  /** The latest metric post's values, and when its points were taken (ns, as a decimal string). */
  lastMetrics: { at: bigint; values: Record<string, number> }
}
const kept = new Map<string, Kept>()
function keptFor(key: string): Kept {
  let entry = kept.get(key)
  if (!entry) {
    entry = { traces: 0, metrics: 0, bytes: 0, spans: { total: 0, byName: {} }, sampled: [], undecodable: 0, lastMetrics: { at: -1n, values: {} } }
    kept.set(key, entry)
  }
  return entry
}

const body = (raw: Buffer, encoding: string | undefined) => (encoding === 'gzip' ? gunzipSync(raw) : raw)

/** A post's parts in one buffer, reused from post to post (each is read at once, and not kept). */
let scratch = Buffer.allocUnsafe(1024 * 1024)
function joined(parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!
  let length = 0
  for (const part of parts) length += part.length
  if (length > scratch.length) scratch = Buffer.allocUnsafe(Math.max(length, 2 * scratch.length))
  let at = 0
  for (const part of parts) at += part.copy(scratch, at)
  return scratch.subarray(0, length)
}

/** Counts a trace post's spans under `entry`; a post that is not valid OTLP is counted as such, its spans not at all. */
function countSpans(entry: Kept, raw: Buffer): void {
  const counts: SpanCounts = { total: 0, byName: {} }
  try {
    countTraceRequest(raw, counts)
    if (verify && !sameCounts(counts, decodedCounts(raw))) throw new Error('the walk and protobufjs disagree')
  } catch {
    entry.undecodable++
    return
  }
  entry.spans.total += counts.total
  for (const [name, n] of Object.entries(counts.byName)) entry.spans.byName[name] = (entry.spans.byName[name] ?? 0) + n
  if (!verify && entry.traces % CHECK_EVERY === 1) entry.sampled.push({ raw: Buffer.from(raw), counts })
}

/** Decodes the posts kept under `entry` whole: each that does not decode, or counts otherwise than the walk did, is undecodable. */
function checkSampled(entry: Kept): void {
  for (const { raw, counts } of entry.sampled.splice(0)) {
    let same = false
    try {
      same = sameCounts(counts, decodedCounts(raw))
    } catch {}
    if (!same) entry.undecodable++
  }
}

/** The counts as protobufjs decodes the post (SINK_VERIFY). */
function decodedCounts(raw: Buffer): SpanCounts {
  const counts: SpanCounts = { total: 0, byName: {} }
  for (const resource of decodeTraceRequest(raw).resourceSpans ?? []) {
    for (const scope of resource.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        const name = `${SPAN_KINDS[span.kind ?? 0] ?? span.kind} ${span.name ?? ''}`
        counts.byName[name] = (counts.byName[name] ?? 0) + 1
        counts.total++
      }
    }
  }
  return counts
}

const sameCounts = (a: SpanCounts, b: SpanCounts) =>
  a.total === b.total && Object.keys(a.byName).length === Object.keys(b.byName).length && Object.entries(a.byName).every(([name, n]) => b.byName[name] === n)

/** Each metric's total over its points: a sum's or gauge's values, a histogram's counts. */
function metricValues(request: PbMetricsRequest): { at: bigint; values: Record<string, number> } {
  const values: Record<string, number> = {}
  let at = 0n
  for (const resource of request.resourceMetrics ?? []) {
    for (const scope of resource.scopeMetrics ?? []) {
      for (const metric of scope.metrics ?? []) {
        const points = (metric.sum ?? metric.gauge ?? metric.histogram ?? metric.exponentialHistogram)?.dataPoints ?? []
        let total = 0
        for (const point of points) {
          total += metric.histogram || metric.exponentialHistogram ? Number(point.count ?? 0) : (point.asDouble ?? Number(point.asInt ?? 0))
          const time = BigInt(point.timeUnixNano ?? 0)
          if (time > at) at = time
        }
        values[metric.name ?? ''] = (values[metric.name ?? ''] ?? 0) + total
      }
    }
  }
  return { at, values }
}

const server = createServer((req, res) => {
  const [, key, signal] = /^\/(?:([^/]+)\/)?v1\/(traces|metrics)$/.exec(req.url ?? '') ?? []
  if (req.method === 'GET') {
    const name = decodeURIComponent((req.url ?? '/').slice(1))
    const entry = name ? keptFor(name) : undefined
    if (entry) checkSampled(entry)
    res.writeHead(200, { 'content-type': 'application/json' })
    return res.end(
      JSON.stringify(
        entry
          ? { traces: entry.traces, metrics: entry.metrics, bytes: entry.bytes, spans: entry.spans, undecodable: entry.undecodable, lastMetrics: entry.lastMetrics.values }
          : counts,
      ),
    )
  }
  const parts: Buffer[] = []
  req.on('data', (part: Buffer) => {
    counts.bytes += part.length
    parts.push(part)
  })
  req.on('end', () => {
    if (signal === 'traces') counts.traces++
    else if (signal === 'metrics') counts.metrics++
    const answer = () => {
      res.writeHead(mode === 'fail' ? 503 : 200, { 'content-type': 'application/x-protobuf' })
      res.end()
    }
    if (mode === 'hang') return
    if (mode === 'slow') return void setTimeout(answer, slowMs)
    if (mode === 'ok' && key && signal) {
      const entry = keptFor(decodeURIComponent(key))
      const raw = body(joined(parts), req.headers['content-encoding'])
      entry.bytes += raw.length
      if (signal === 'traces') {
        entry.traces++
        countSpans(entry, raw)
      } else {
        entry.metrics++
        try {
          // Exports may overlap (one still out when the last is sent at shutdown): the latest points win.
          const latest = metricValues(decodeMetricsRequest(raw))
          if (latest.at >= entry.lastMetrics.at) entry.lastMetrics = latest
        } catch {
          entry.undecodable++
        }
      }
    }
    answer()
  })
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => process.exit(0))
