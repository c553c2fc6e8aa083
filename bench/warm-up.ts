// Latency at c=1 by time since the load at c=1 began, on a fresh process of each target, after the
// run of record's warm-up at c=32 (3 s of JSON, 2 s of streams): how long a target takes to reach
// its steady state at c=1, and so how long the run of record warms each one at c=1 before it measures.
//   node bench/warm-up.ts [direct] [bare] [off] [on]      (default: off on)
// Env: WINDOWS (8) windows of WINDOW_SECONDS (3) each; GAP_SECONDS (0): idle between windows (the
// run of record's c=1 slices come ~20 s apart; ONE_GAP=1: only after the first window); WARM1_SECONDS (0): load at c=1 before the first window;
// C (1): the concurrency of the windows; SCRAPE_MS (0): GET the target's /metrics that often during the windows, as the run of record does every 1,000;
// IDLE (0): that many other telemetry-on gateways left running beside, idle but scraped as often.
import { ensureBenchDeps } from './lib/deps.ts'
ensureBenchDeps()
const { jsonLoad, streamLoad } = await import('./lib/load.ts')
const { startBareProxy, startGateway, startOtlpSink, startUpstream, telemetryEnv } = await import('./lib/procs.ts')

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const [WINDOWS, WINDOW, GAP, WARM1, SCRAPE] = [env('WINDOWS', 8), env('WINDOW_SECONDS', 3), env('GAP_SECONDS', 0), env('WARM1_SECONDS', 0), env('SCRAPE_MS', 0)]
const C = env('C', 1)
const names = process.argv.length > 2 ? process.argv.slice(2) : ['off', 'on']
const upstream = await startUpstream()
const sink = await startOtlpSink()
const idle = await Promise.all(Array.from({ length: env('IDLE', 0) }, () => startGateway(upstream.url, telemetryEnv('on', sink.url))))
const idleScrapes = idle.map((g) => setInterval(() => void fetch(`${g.url}/metrics`).then((r) => r.text()), SCRAPE || 1000))
const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000))

for (const name of names) {
  // One target at a time, each on a fresh process: the others idle would not change it, a warm one would.
  const proc =
    name === 'direct' ? undefined
    : name === 'bare' ? await startBareProxy(upstream.url)
    : name === 'off' || name === 'on' ? await startGateway(upstream.url, telemetryEnv(name, sink.url))
    : undefined
  if (!proc && name !== 'direct') throw new Error(`unknown target ${name}: direct, bare, off or on`)
  const target = { url: (proc ?? upstream).url, path: '/v1/chat/completions', headers: {} }
  await jsonLoad(target, 32, 3)
  await streamLoad(target, 32, 2)
  if (WARM1) await jsonLoad(target, 1, WARM1)
  const cells: string[] = []
  const scraping = SCRAPE && proc ? setInterval(() => void fetch(`${proc.url}/metrics`).then((r) => r.text()), SCRAPE) : undefined
  for (let w = 0; w < WINDOWS; w++) {
    if (w && GAP && (w === 1 || !process.env.ONE_GAP)) await sleep(GAP)
    const { rps, latency } = await jsonLoad(target, C, WINDOW)
    cells.push(`${(w * WINDOW).toString().padStart(2)} s: ${rps.toFixed(0).padStart(5)}/s p50 ${latency.p50.toFixed(2)} p99 ${latency.p99.toFixed(2)}`)
  }
  clearInterval(scraping)
  console.log(`${name} (c=${C}; ms):\n  ${cells.join('\n  ')}`)
  await proc?.stop()
}
idleScrapes.forEach(clearInterval)
for (const g of idle) await g.stop()
await upstream.stop()
await sink.stop()
process.exit(0)
