// One bench run: the same scenarios against each target, one target at a time, on one machine.
import { jsonLoad, openStreams, streamLoad, chatBody, type LoadResult, type StreamResult, type Target } from './load.ts'
import { startBareProxy, startGateway, startOtlpSink, startPortkey, startUpstream, telemetryEnv, type Proc } from './procs.ts'

export const CONCURRENCY = [1, 32, 256] as const
export const OPEN_STREAMS = 1000

export interface TargetResult {
  key: string
  label: string
  startupMs: number
  json: LoadResult[]
  streams: StreamResult[]
  /** After a full GC, before and with the streams open. */
  rssIdleKiB: number
  rssOpenKiB: number
  heapIdleKiB?: number
  heapOpenKiB?: number
  openStreams: number
  /** Telemetry on only: /metrics scrapes done and failed, OTLP posts the sink received. */
  scrapes?: { ok: number; failed: number }
  exported?: { traces: number; metrics: number; bytes: number }
}

export interface RunOptions {
  /** Multiplies every duration (development runs use less than 1). */
  scale: number
  only?: string[] | undefined
  /** Extra node arguments for the gateway (e.g. --cpu-prof). */
  gatewayNodeArgs?: string[]
  log: (line: string) => void
}

interface Spec {
  key: string
  label: string
  start(upstream: Proc, sink: Proc, gatewayNodeArgs: string[]): Promise<Proc | undefined>
  target(proc: Proc, upstream: Proc): Target
}

const COMPLETIONS = '/v1/chat/completions'

export const SPECS: Spec[] = [
  { key: 'direct', label: 'direct to upstream', start: async () => undefined, target: (p) => ({ url: p.url, path: COMPLETIONS, headers: {} }) },
  { key: 'bare', label: 'bare node:http proxy', start: (up) => startBareProxy(up.url), target: (p) => ({ url: p.url, path: COMPLETIONS, headers: {} }) },
  {
    key: 'off',
    label: 'gateway, telemetry off',
    start: (up, _sink, nodeArgs) => startGateway(up.url, { OTEL_SDK_DISABLED: 'true' }, nodeArgs),
    target: (p) => ({ url: p.url, path: COMPLETIONS, headers: {} }),
  },
  {
    key: 'on',
    label: 'gateway, telemetry on',
    // 100% sampled, spans and metrics (every 10 s) to the OTLP sink, /metrics scraped every second.
    start: (up, sink, nodeArgs) =>
      startGateway(
        up.url,
        telemetryEnv('on', sink.url),
        nodeArgs,
      ),
    target: (p) => ({ url: p.url, path: COMPLETIONS, headers: {} }),
  },
  {
    key: 'portkey',
    label: 'Portkey gateway',
    start: () => startPortkey(),
    // Portkey's way to reach a custom OpenAI-compatible host.
    target: (p, up) => ({ url: p.url, path: COMPLETIONS, headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${up.url}/v1`, authorization: 'Bearer sk-bench-not-a-real-key' } }),
  },
]

function scraper(url: string) {
  const counts = { ok: 0, failed: 0 }
  const timer = setInterval(() => {
    fetch(`${url}/metrics`)
      .then(async (r) => {
        await r.text()
        counts[r.ok ? 'ok' : 'failed']++
      })
      .catch(() => counts.failed++)
  }, 1000)
  return { counts, stop: () => clearInterval(timer) }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function runSuite(options: RunOptions): Promise<TargetResult[]> {
  const { scale, log } = options
  const secs = (s: number) => Math.max(1, Math.round(s * scale))
  const upstream = await startUpstream()
  const sink = await startOtlpSink()
  const control = (path: string, body?: unknown) =>
    fetch(`${upstream.url}/__bench/${path}`, { method: 'POST', body: JSON.stringify(body ?? {}) }).then((r) => r.json())
  const results: TargetResult[] = []

  /** Runs `work` against a freshly started instance of `spec`, then stops it. */
  async function withTarget<T>(spec: Spec, work: (proc: Proc | undefined, target: Target) => Promise<T>): Promise<T> {
    const proc = await spec.start(upstream, sink, options.gatewayNodeArgs ?? [])
    const scrape = spec.key === 'on' ? scraper((proc ?? upstream).url) : undefined
    try {
      return await work(proc, spec.target(proc ?? upstream, upstream))
    } finally {
      scrape?.stop()
      if (scrape) {
        scrapes.ok += scrape.counts.ok
        scrapes.failed += scrape.counts.failed
      }
      await proc?.stop()
      await control('config', { holdStreams: false })
      await control('release')
    }
  }
  const scrapes = { ok: 0, failed: 0 }

  try {
    for (const spec of SPECS) {
      if (options.only && !options.only.includes(spec.key)) continue
      scrapes.ok = scrapes.failed = 0
      log(`${spec.label}: starting`)
      const result: TargetResult = { key: spec.key, label: spec.label, startupMs: 0, json: [], streams: [], rssIdleKiB: 0, rssOpenKiB: 0, openStreams: 0 }
      await withTarget(spec, async (proc, target) => {
        result.startupMs = (proc ?? upstream).startupMs
        // Warm-up: JIT, pools and caches, not measured.
        await jsonLoad(target, 32, secs(3))
        await streamLoad(target, 32, secs(2))
        for (const c of CONCURRENCY) {
          const r = await jsonLoad(target, c, secs(c === 1 ? 6 : 10), [(proc ?? upstream).child.pid])
          log(`${spec.label}: json c=${c}: ${r.rps.toFixed(0)} req/s, p50 ${r.latency.p50.toFixed(3)} ms, p99 ${r.latency.p99.toFixed(3)} ms, failed ${r.failed}`)
          result.json.push(r)
        }
        for (const c of CONCURRENCY) {
          const r = await streamLoad(target, c, secs(c === 1 ? 6 : 10), [(proc ?? upstream).child.pid])
          log(`${spec.label}: stream c=${c}: ${r.rps.toFixed(0)} streams/s, ttfc p50 ${r.ttfc.p50.toFixed(3)} ms, full p50 ${r.latency.p50.toFixed(3)} ms, failed ${r.failed}, incomplete ${r.incomplete}`)
          result.streams.push(r)
        }
      })
      // Memory per open stream, on a fresh process (a heap grown by the load runs would hide it):
      // a short warm-up, then 1,000 streams held open after their first chunk.
      await withTarget(spec, async (proc, target) => {
        const server = proc ?? upstream
        await streamLoad(target, 32, 1)
        await sleep(1000)
        // RSS after a full GC (bench/servers/probe.ts): garbage left by the warm-up is not a stream's.
        const idle = await server.probe()
        result.rssIdleKiB = idle.rssKiB
        result.heapIdleKiB = idle.heapUsedKiB
        await control('config', { holdStreams: true })
        const open = await openStreams(target, OPEN_STREAMS, (i) => chatBody(true, { user: `rss-${i}` }))
        await sleep(1000)
        const held = await server.probe()
        result.rssOpenKiB = held.rssKiB
        result.heapOpenKiB = held.heapUsedKiB
        result.openStreams = open.opened
        log(`${spec.label}: ${open.opened} open streams: RSS ${result.rssIdleKiB} → ${result.rssOpenKiB} KiB`)
        await control('config', { holdStreams: false })
        await control('release')
        await open.close()
      })
      if (spec.key === 'on') {
        result.scrapes = { ...scrapes }
        result.exported = (await fetch(sink.url).then((r) => r.json())) as TargetResult['exported']
      }
      results.push(result)
    }
  } finally {
    await upstream.stop()
    await sink.stop()
  }
  return results
}
