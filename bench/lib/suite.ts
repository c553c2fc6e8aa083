// One bench run: the same scenarios against each target, on one machine. Throughput and latency
// are measured with every target running and the load moving from one to the next every few
// seconds (the order rotating each round), so that what this shared VM does meanwhile (its CPU
// steal went from 1 % to 38 % and back within minutes) hits every target alike. Memory and
// start-up are taken on a fresh process per target, one at a time.
import { Samples } from './stats.ts'
import { jsonLoad, openStreams, streamLoad, type LoadResult, type SampleSink, type SliceFigures, type StreamResult, type Target } from './load.ts'
import { Served, usageBatch, wholeRun } from './nothing-lost.ts'
import { startOtlpSink, startUpstream, type Proc } from './procs.ts'
import { stopRoutingHelpers, type Check } from './routing.ts'
import { selected, targetOf, type Spec } from './scenarios.ts'

export const CONCURRENCY = [1, 32, 256] as const
export const OPEN_STREAMS = 1000
/**
 * Seconds of load per target per point (c=1: 6 s), in slices of SLICE_SECONDS. JSON at c=32, where
 * the requests/s goals are judged on the median of the rounds' ratios, gets twice the rounds: one
 * slice caught by a slow phase of this VM moved a five-round median by several points (issue 15,
 * eighteenth round).
 */
export const POINT_SECONDS = (kind: 'json' | 'stream', c: number) => (c === 1 ? 6 : kind === 'json' && c === 32 ? 20 : 10)
const SLICE_SECONDS = 2
/** Unmeasured load at c=1 per target, in slices of the rotation, before its measured c=1 slices (bench/warm-up.ts: how long a gateway takes to settle at c=1). */
export const WARM_C1_SECONDS = 16

export interface TargetResult {
  key: string
  label: string
  /** The API's path, and the scenarios this one is compared with (scenarios.ts). */
  path: string
  direct: string
  off?: string | undefined
  startupMs: number
  json: LoadResult[]
  streams: StreamResult[]
  /** After a full GC, before and with the streams open. */
  rssIdleKiB: number
  rssOpenKiB: number
  heapIdleKiB?: number
  heapOpenKiB?: number
  openStreams: number
  /** Telemetry on only: /metrics scrapes done and failed, OTLP posts (and their bytes) the sink received from it. */
  scrapes?: { ok: number; failed: number }
  exported?: { traces: number; metrics: number; bytes: number }
  /** What a scenario promises (the routing ones), checked after its load. */
  checks?: Check[]
  /** Telemetry on: nothing lost (bench/lib/nothing-lost.ts), checked after its load. */
  telemetryChecks?: Check[]
}

export interface RunOptions {
  /** Multiplies every duration (development runs use less than 1). */
  scale: number
  only?: string[] | undefined
  /** Extra node arguments for the gateway (e.g. --cpu-prof). */
  gatewayNodeArgs?: string[]
  log: (line: string) => void
}

/** Reads a process's /metrics every `everyMs`, counting the reads that worked and those that did not. */
export function scraper(url: string, everyMs = 1000) {
  const counts = { ok: 0, failed: 0 }
  const timer = setInterval(() => {
    fetch(`${url}/metrics`)
      .then(async (r) => {
        await r.text()
        counts[r.ok ? 'ok' : 'failed']++
      })
      .catch(() => counts.failed++)
  }, everyMs)
  return { counts, stop: () => clearInterval(timer) }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function runSuite(options: RunOptions): Promise<TargetResult[]> {
  const { scale, log } = options
  const secs = (s: number) => Math.max(1, Math.round(s * scale))
  const nodeArgs = options.gatewayNodeArgs ?? []
  const upstream = await startUpstream()
  const sink = await startOtlpSink()
  const control = (path: string, body?: unknown) =>
    fetch(`${upstream.url}/__bench/${path}`, { method: 'POST', body: JSON.stringify(body ?? {}) }).then((r) => r.json())

  /** Runs `work` against a freshly started instance of `spec`, then stops it. */
  async function withTarget<T>(spec: Spec, work: (proc: Proc | undefined, target: Target) => Promise<T>): Promise<T> {
    // Exports apart from the load's process: these are not checked.
    const proc = await spec.start({ upstream, otlp: `${sink.url}/memory-${spec.key}`, nodeArgs, served: new Served() })
    try {
      return await work(proc, targetOf(spec, proc ?? upstream, upstream))
    } finally {
      await proc?.stop()
      await control('config', { holdStreams: false })
      await control('release')
    }
  }
  const specs = selected(options.only)
  const results = new Map<string, TargetResult>(
    specs.map((spec) => [
      spec.key,
      { key: spec.key, label: spec.label, path: spec.ingress.path, direct: spec.direct, off: spec.off, startupMs: 0, json: [], streams: [], rssIdleKiB: 0, rssOpenKiB: 0, openStreams: 0 },
    ]),
  )

  try {
    // Throughput and latency: every target at once, the load moving between them.
    const running: Array<{ spec: Spec; proc: Proc | undefined; target: Target; pid: number | undefined; served: Served; stopped?: boolean }> = []
    // /metrics of every telemetry-on gateway, scraped every second for as long as the loads run.
    const scrapes = new Map<string, ReturnType<typeof scraper>>()
    const stopScraping = () => scrapes.forEach((scrape) => scrape.stop())
    try {
      for (const spec of specs) {
        log(`${spec.label}: starting`)
        const served = new Served()
        const proc = await spec.start({ upstream, otlp: `${sink.url}/${spec.key}`, nodeArgs, served })
        running.push({ spec, proc, target: targetOf(spec, proc ?? upstream, upstream), pid: (proc ?? upstream).child.pid, served })
        if (spec.telemetry && proc) scrapes.set(spec.key, scraper(proc.url))
      }
      const count = (served: Served, result: LoadResult) => served.add(result.sent, result.ok + result.failed)
      for (const { target, served } of running) {
        // Warm-up: JIT, pools and caches, not measured.
        count(served, await jsonLoad(target, 32, secs(3)))
        count(served, await streamLoad(target, 32, secs(2)))
      }
      for (const kind of ['json', 'stream'] as const) {
        for (const c of CONCURRENCY) {
          // After the warm-up at c=32 a gateway's latency at c=1 still falls for 6–12 s of load
          // there (bench/warm-up.ts): unmeasured rounds of the same rotation come first, so that
          // each target's last one ends a rotation before its first measured slice.
          if (kind === 'json' && c === 1) {
            for (let round = 0; round < Math.round(secs(WARM_C1_SECONDS) / SLICE_SECONDS); round++) {
              for (const { target, served } of running) count(served, await jsonLoad(target, 1, SLICE_SECONDS))
            }
          }
          const rounds = Math.max(1, Math.round(secs(POINT_SECONDS(kind, c)) / SLICE_SECONDS))
          const slices = running.map(() => ({ into: { latency: new Samples(), ttfc: new Samples() } as SampleSink, parts: [] as Array<LoadResult | StreamResult>, figures: [] as SliceFigures[] }))
          for (let round = 0; round < rounds; round++) {
            for (let k = 0; k < running.length; k++) {
              // The order rotates each round, and odd rounds run it backwards: neighbours in the list
              // (telemetry off, then on) stay neighbours and take turns at coming first, except in the
              // round whose rotation puts them at its two ends.
              const i = ((round % 2 ? running.length - 1 - k : k) + round) % running.length
              const { target, pid, served } = running[i]!
              const load = kind === 'json' ? jsonLoad : streamLoad
              const part = await load(target, c, SLICE_SECONDS, [pid], slices[i]!.into)
              count(served, part)
              slices[i]!.parts.push(part)
              slices[i]!.figures.push({ round, position: k, rps: part.rps, cpuUsPerRequest: part.cpuUsPerRequest })
            }
          }
          running.forEach(({ spec }, i) => {
            const merged = { ...mergeSlices(c, slices[i]!.parts, slices[i]!.into), slices: slices[i]!.figures }
            const result = results.get(spec.key)!
            if (kind === 'json') {
              result.json.push(merged)
              log(`${spec.label}: json c=${c}: ${merged.rps.toFixed(0)} req/s, p50 ${merged.latency.p50.toFixed(3)} ms, p99 ${merged.latency.p99.toFixed(3)} ms, failed ${merged.failed}`)
            } else {
              result.streams.push(merged)
              log(`${spec.label}: stream c=${c}: ${merged.rps.toFixed(0)} streams/s, ttfc p50 ${merged.ttfc.p50.toFixed(3)} ms, full p50 ${merged.latency.p50.toFixed(3)} ms, failed ${merged.failed}, incomplete ${merged.incomplete}`)
            }
          })
        }
      }
      stopScraping()
      for (const [key, scrape] of scrapes) results.get(key)!.scrapes = { ...scrape.counts }
      for (const entry of running) {
        const { spec, proc, served } = entry
        if (!proc) continue
        const result = results.get(spec.key)!
        const say = (checks: Check[]) => checks.forEach((check) => log(`${spec.label}: ${check.ok ? 'ok' : 'FAILED'}: ${check.what}: ${check.measured}`))
        if (spec.verify) say((result.checks = await spec.verify(proc, served)))
        if (!spec.telemetry) continue
        // Nothing lost: a batch whose answers' usage is summed, then the whole run, once the process has stopped and flushed.
        const batch = await usageBatch(proc, spec.ingress, spec.telemetry, served)
        entry.stopped = true
        const whole = await wholeRun(proc, sink.url, spec.key, served, spec.telemetry)
        say((result.telemetryChecks = [...batch, ...whole.checks]))
        result.exported = whole.exported
      }
    } finally {
      stopScraping()
      for (const { proc, stopped } of running) if (!stopped) await proc?.stop()
    }

    for (const spec of specs) {
      const result = results.get(spec.key)!
      // Memory per open stream, on a fresh process (a heap grown by the load runs would hide it):
      // a short warm-up, then 1,000 streams held open after their first chunk.
      await withTarget(spec, async (proc, target) => {
        const server = proc ?? upstream
        // Start-up to ready: this process started alone.
        result.startupMs = server.startupMs
        await streamLoad(target, 32, 1)
        await sleep(1000)
        // RSS after a full GC (bench/servers/probe.ts): garbage left by the warm-up is not a stream's.
        const idle = await server.probe()
        result.rssIdleKiB = idle.rssKiB
        result.heapIdleKiB = idle.heapUsedKiB
        if (spec.holdsStreams === false) return
        await control('config', { holdStreams: true })
        const open = await openStreams(target, OPEN_STREAMS, () => target.body!(true))
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
    }
  } finally {
    await upstream.stop()
    await sink.stop()
    await stopRoutingHelpers()
  }
  return [...results.values()]
}

/** One load point's slices as one result: counts and time summed, latencies pooled, CPU per request weighted. */
function mergeSlices(connections: number, parts: Array<LoadResult | StreamResult>, into: SampleSink): LoadResult & StreamResult {
  const sum = (f: (p: LoadResult | StreamResult) => number) => parts.reduce((n, p) => n + f(p), 0)
  const ok = sum((p) => p.ok)
  const seconds = sum((p) => p.seconds)
  const cpu = sum((p) => p.cpuUs ?? 0)
  return {
    connections,
    seconds,
    sent: sum((p) => p.sent),
    ok,
    failed: sum((p) => p.failed),
    incomplete: sum((p) => ('incomplete' in p ? p.incomplete : 0)),
    rps: ok / seconds,
    cpuUsPerRequest: ok ? cpu / ok : NaN,
    latency: into.latency.summary(),
    ttfc: into.ttfc.summary(),
  }
}
