// Latency and CPU a request by window of load, on a fresh process of each target, after the run
// of record's warm-up at c=32 (3 s of JSON, 2 s of streams): how long a target takes to settle,
// and what idling between loads does to it.
//   node bench/warm-up.ts [KEY …]      (default: off on; keys as BENCH_ONLY's: direct, bare, off, on, portkey, responses …)
// Env: C (1): the windows' concurrency; WINDOWS (8) windows of WINDOW_SECONDS (3) each;
// WARM1_SECONDS (0): load at C before the first window; GAP_SECONDS (0): idle before every window
// but the first (the run of record's slices of one target come 26 s apart), ONE_GAP=1: only
// before the second; SCRAPE_MS (0): a telemetry-on target's /metrics read that often, as the run
// of record does every 1,000; IDLE (0): that many other telemetry-on gateways running beside,
// idle, each scraped every second.
import { ensureBenchDeps } from './lib/deps.ts'
ensureBenchDeps()
const { jsonLoad, streamLoad } = await import('./lib/load.ts')
const { Served } = await import('./lib/nothing-lost.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv } = await import('./lib/procs.ts')
const { SPECS, targetOf } = await import('./lib/scenarios.ts')
const { stopRoutingHelpers } = await import('./lib/routing.ts')
const { scraper } = await import('./lib/suite.ts')

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const [C, WINDOWS, WINDOW, WARM1, GAP, SCRAPE] = [env('C', 1), env('WINDOWS', 8), env('WINDOW_SECONDS', 3), env('WARM1_SECONDS', 0), env('GAP_SECONDS', 0), env('SCRAPE_MS', 0)]
const ONE_GAP = process.env.ONE_GAP === '1'
const specs = (process.argv.length > 2 ? process.argv.slice(2) : ['off', 'on']).map((key) => {
  const spec = SPECS.find((s) => s.key === key)
  if (!spec) throw new Error(`unknown target ${key}: one of ${SPECS.map((s) => s.key).join(', ')}`)
  return spec
})
const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000))

const upstream = await startUpstream()
const sink = await startOtlpSink()
const idle: Awaited<ReturnType<typeof startGateway>>[] = []
const scrapes: Array<{ stop(): void }> = []
try {
  for (let i = 0; i < env('IDLE', 0); i++) {
    idle.push(await startGateway(upstream.url, telemetryEnv('on', sink.url)))
    scrapes.push(scraper(idle[i]!.url, 1000))
  }
  for (const spec of specs) {
    // A fresh process per target, measured alone: a warm one would not show its warm-up.
    const proc = await spec.start({ upstream, otlp: `${sink.url}/${spec.key}`, nodeArgs: [], served: new Served() })
    try {
      const target = targetOf(spec, proc ?? upstream, upstream)
      await jsonLoad(target, 32, 3)
      await streamLoad(target, 32, 2)
      if (WARM1) await jsonLoad(target, C, WARM1)
      const scraping = SCRAPE && proc && spec.telemetry ? scraper(proc.url, SCRAPE) : undefined
      const cells: string[] = []
      for (let w = 0; w < WINDOWS; w++) {
        if (w && GAP && (w === 1 || !ONE_GAP)) await sleep(GAP)
        const { rps, latency, cpuUsPerRequest } = await jsonLoad(target, C, WINDOW, [(proc ?? upstream).child.pid])
        cells.push(`${String(WARM1 + w * WINDOW).padStart(3)} s: ${rps.toFixed(0).padStart(5)}/s p50 ${latency.p50.toFixed(2)} p99 ${latency.p99.toFixed(2)}, ${cpuUsPerRequest?.toFixed(0)} µs CPU a request`)
      }
      scraping?.stop()
      console.log(`${spec.key} (c=${C}; ms; seconds of load at c=${C} before the window):\n  ${cells.join('\n  ')}`)
    } finally {
      await proc?.stop()
    }
  }
} finally {
  scrapes.forEach((scrape) => scrape.stop())
  for (const g of idle) await g.stop()
  // The route groups' own upstreams (the fallback's refusing target 1, the cache's counted one).
  await stopRoutingHelpers()
  await upstream.stop()
  await sink.stop()
}
process.exit(0)
