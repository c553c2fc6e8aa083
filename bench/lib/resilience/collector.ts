// The collector up, down (nothing listening), black-holed (reads, never answers) and slow, during
// 20,000 requests each: the gateway must fail none, answer as fast as with the collector up, and
// keep its memory flat (the span queue is bounded; what overflows is dropped and counted).
import { freePort, rssKiBOf, startGateway, startOtlpSink, type Proc } from '../procs.ts'
import { chatBody } from '../load.ts'
import { keepAlive, mean, percentile, pool, post, sleep } from './http.ts'

export const REQUESTS = 20_000
const CONCURRENCY = 32
const WARMUP = 2_000

export interface CollectorCase {
  mode: 'up' | 'down' | 'black-holed' | 'slow'
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

/** Requests per gateway per slice; the slices rotate over the gateways until each has had REQUESTS. */
const SLICE = 1_000

interface Running {
  mode: CollectorCase['mode']
  sink: { url: string; proc?: Proc }
  gateway: Proc
  url: string
  answers: Array<{ status: number; ms: number }>
  rss: number[]
  start: number
  half: number
}

/**
 * All four modes at once, a gateway each, the load moving between them every SLICE requests
 * (order rotating), so that what the VM does meanwhile (its CPU steal swings within minutes)
 * hits every mode alike: measured one after the other, two collector-up runs differed by 6 %.
 */
export async function collectorCases(upstream: Proc, log: (line: string) => void): Promise<CollectorCase[]> {
  const modes: Array<CollectorCase['mode']> = ['up', 'down', 'black-holed', 'slow']
  const running: Running[] = []
  const agent = keepAlive(CONCURRENCY)
  const body = chatBody(false)
  try {
    for (const mode of modes) {
      const sink = await collector(mode)
      const gateway = await startGateway(upstream.url, { OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_METRIC_EXPORT_INTERVAL: '5000' })
      running.push({ mode, sink, gateway, url: `${gateway.url}/v1/chat/completions`, answers: [], rss: [], start: 0, half: 0 })
    }
    for (const r of running) {
      await pool(WARMUP, CONCURRENCY, () => post(agent, r.url, body))
      r.start = rssKiBOf(r.gateway.child.pid)
    }
    const rounds = REQUESTS / SLICE
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < running.length; k++) {
        const r = running[(k + round) % running.length]!
        const answers = await pool(SLICE, CONCURRENCY, () => post(agent, r.url, body))
        r.answers.push(...answers.map((a) => ({ status: a.status, ms: a.ms })))
        r.rss.push(rssKiBOf(r.gateway.child.pid))
        if (round === rounds / 2 - 1) r.half = rssKiBOf(r.gateway.child.pid)
      }
    }
    const results: CollectorCase[] = []
    for (const r of running) {
      const end = rssKiBOf(r.gateway.child.pid)
      const ok = r.answers.filter((a) => a.status === 200).map((a) => a.ms)
      const spans = await spanQueueOf(r.gateway)
      const stopStarted = performance.now()
      await r.gateway.stop()
      const stopMs = performance.now() - stopStarted
      const posts = r.sink.proc ? ((await fetch(r.sink.proc.url).then((res) => res.json())) as { traces: number; metrics: number }) : { traces: 0, metrics: 0 }
      const result: CollectorCase = {
        mode: r.mode,
        label: r.mode,
        requests: r.answers.length,
        failed: r.answers.length - ok.length,
        p50: percentile(ok, 0.5),
        p99: percentile(ok, 0.99),
        mean: mean(ok),
        rss: { start: r.start, half: r.half, end, max: Math.max(r.start, end, ...r.rss) },
        posts: posts.traces + posts.metrics,
        warnings: r.gateway.output.flatMap((line) => {
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
      log(`collector ${r.mode}: failed ${result.failed}/${result.requests}, p50 ${result.p50.toFixed(3)} ms, RSS ${r.start} → ${r.half} → ${end} KiB, stop ${stopMs.toFixed(0)} ms, spans dropped ${spans.dropped}, queue ${spans.queue}/${spans.capacity}`)
      results.push(result)
    }
    return results
  } finally {
    agent.destroy()
    for (const r of running) {
      await r.gateway.stop()
      await r.sink.proc?.stop()
    }
    await sleep(200)
  }
}
