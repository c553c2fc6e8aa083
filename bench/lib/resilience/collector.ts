// The collector up, down (nothing listening), black-holed (reads, never answers) and slow, during
// 20,000 requests each: the gateway must fail none, answer as fast as with the collector up, and
// keep its memory flat (the span queue is bounded; what overflows is dropped and said).
import { freePort, rssKiBOf, startGateway, startOtlpSink, type Proc } from '../procs.ts'
import { chatBody } from '../load.ts'
import { keepAlive, mean, percentile, pool, post, sleep } from './http.ts'

export const REQUESTS = 20_000
const CONCURRENCY = 32
const WARMUP = 2_000

export interface CollectorCase {
  mode: 'up' | 'down' | 'black-holed' | 'slow'
  /** Which run of this mode (the collector-up run is done first and last, to bound drift). */
  label: string
  requests: number
  failed: number
  p50: number
  p99: number
  mean: number
  /** RSS (KiB) after warm-up, half-way, at the end, and the highest sample. */
  rss: { start: number; half: number; end: number; max: number }
  /** OTLP posts the collector received (0 when down). */
  posts: number
  /** The gateway's own warnings about telemetry (each kind once). */
  warnings: string[]
  /** SIGTERM to exit, ms: flushing must not hang on a dead collector. */
  stopMs: number
  /** From the gateway's /metrics at the end of the run: spans dropped (queue full) and exported, and the queue. */
  spans: { dropped: number; exported: number; queue: number; capacity: number }
}

/** The batch span processor's own metrics (otel_sdk_processor_span_*), summed over their series. */
async function spanQueueOf(gateway: Proc): Promise<CollectorCase['spans']> {
  const text = await fetch(`${gateway.url}/metrics`).then((r) => r.text())
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0)
  return {
    dropped: sum(/^otel_sdk_processor_span_processed_total\{[^}]*error_type="queue_full"[^}]*\} (\S+)/gm),
    exported: sum(/^otel_sdk_processor_span_processed_total\{(?![^}]*error_type)[^}]*\} (\S+)/gm),
    queue: sum(/^otel_sdk_processor_span_queue_size\{[^}]*\} (\S+)/gm),
    capacity: sum(/^otel_sdk_processor_span_queue_capacity\{[^}]*\} (\S+)/gm),
  }
}

async function collector(mode: CollectorCase['mode']): Promise<{ url: string; proc?: Proc }> {
  if (mode === 'down') return { url: `http://127.0.0.1:${await freePort()}` }
  const env: Record<string, string> = { up: { COLLECTOR_MODE: 'ok' }, 'black-holed': { COLLECTOR_MODE: 'hang' }, slow: { COLLECTOR_MODE: 'slow', SLOW_MS: '2000' } }[mode] as Record<string, string>
  const proc = await startOtlpSink(env)
  return { url: proc.url, proc }
}

export async function collectorCase(upstream: Proc, mode: CollectorCase['mode'], log: (line: string) => void, label: string = mode): Promise<CollectorCase> {
  const sink = await collector(mode)
  const gateway = await startGateway(upstream.url, {
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_METRIC_EXPORT_INTERVAL: '5000',
  })
  const agent = keepAlive(CONCURRENCY)
  const url = `${gateway.url}/v1/chat/completions`
  const body = chatBody(false)
  try {
    await pool(WARMUP, CONCURRENCY, () => post(agent, url, body))
    const samples: number[] = []
    const rssTimer = setInterval(() => samples.push(rssKiBOf(gateway.child.pid)), 250)
    const start = rssKiBOf(gateway.child.pid)
    let half = 0
    let done = 0
    const answers = await pool(REQUESTS, CONCURRENCY, async () => {
      const answer = await post(agent, url, body)
      if (++done === REQUESTS / 2) half = rssKiBOf(gateway.child.pid)
      return answer
    })
    clearInterval(rssTimer)
    const end = rssKiBOf(gateway.child.pid)
    const ok = answers.filter((a) => a.status === 200).map((a) => a.ms)
    const spans = await spanQueueOf(gateway)
    const stopStarted = performance.now()
    await gateway.stop()
    const stopMs = performance.now() - stopStarted
    const posts = sink.proc ? ((await fetch(sink.proc.url).then((r) => r.json())) as { traces: number; metrics: number }) : { traces: 0, metrics: 0 }
    const result: CollectorCase = {
      mode,
      label,
      requests: answers.length,
      failed: answers.length - ok.length,
      p50: percentile(ok, 0.5),
      p99: percentile(ok, 0.99),
      mean: mean(ok),
      rss: { start, half, end, max: Math.max(start, end, ...samples) },
      posts: posts.traces + posts.metrics,
      warnings: gateway.output.flatMap((line) => {
        try {
          const msg = (JSON.parse(line) as { msg?: unknown }).msg
          return typeof msg === 'string' && msg.includes('opentelemetry') ? [msg.replace(/\s+/g, ' ').slice(0, 200)] : []
        } catch {
          return []
        }
      }),
      stopMs,
      spans,
    }
    log(`collector ${label}: failed ${result.failed}/${result.requests}, p50 ${result.p50.toFixed(3)} ms, RSS ${start} → ${half} → ${end} KiB, stop ${stopMs.toFixed(0)} ms, spans dropped ${spans.dropped}, queue ${spans.queue}/${spans.capacity}`)
    return result
  } finally {
    agent.destroy()
    await gateway.stop()
    await sink.proc?.stop()
    await sleep(200)
  }
}
