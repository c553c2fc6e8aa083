// The gateway's garbage collection per request under load, telemetry variants side by side:
// `[API=chat|responses|messages] [C=32] node bench/gc-load.ts NAME=DIR[?KEY=VALUE&…] …` (e.g.
// `"off=.?OTEL_SDK_DISABLED=true" on=.`). Each variant runs with V8's --trace-gc-nvp; after 30 s of
// warm-up in turns, 8 alternating slices of 3 s each are read: per thread (V8 prints every isolate's
// collections, each line marked with Node's thread id: 0 the main thread, 1 the telemetry worker)
// and kind of collection (s: scavenge, mc: mark-compact), how many requests between two, the pause
// a request, and the bytes promoted a request. A mark-compact's concurrent marking runs on V8's
// helper threads and slows the thread's stores meanwhile, so how often they come counts too.
// Collections while a variant waits for its turn count against the requests of its slices.
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { jsonLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv, variantsOf } = await import('./lib/procs.ts')
const { ingressFromEnv, ingressTarget } = await import('./lib/ingress.ts')

const variants = variantsOf(process.argv.slice(2))
if (variants.length < 1) throw new Error('usage: node bench/gc-load.ts NAME=DIR[?KEY=VALUE] …')
const ingress = ingressFromEnv()
const concurrency = Number(process.env.C ?? 32)

const upstream = await startUpstream()
const sink = await startOtlpSink()
const runs: Array<{ name: string; gateway: Awaited<ReturnType<typeof startGateway>>; trace: string; requests: number; failed: number }> = []
try {
  for (const variant of variants) {
    process.env.BENCH_GATEWAY_DIR = variant.dir
    const gateway = await startGateway(upstream.url, { ...telemetryEnv('on', sink.url), ...variant.env }, ['--trace-gc-nvp'])
    const run = { name: variant.name, gateway, trace: '', requests: 0, failed: 0 }
    gateway.child.stdout?.on('data', (data: string) => (run.trace += data))
    runs.push(run)
  }
  const target = (run: (typeof runs)[number]) => ingressTarget(run.gateway.url, ingress)
  for (let slice = 0; slice < 6; slice++) for (const run of runs) await jsonLoad(target(run), concurrency, 5)
  for (const run of runs) run.trace = ''
  for (let slice = 0; slice < 8; slice++) {
    for (const run of slice % 2 ? [...runs].reverse() : runs) {
      const result = await jsonLoad(target(run), concurrency, 3)
      run.requests += result.ok + result.failed
      run.failed += result.failed
    }
  }
  for (const run of runs) if (run.failed > 0) throw new Error(`${run.name}: ${run.failed} requests failed`)
  console.log(`${ingress.path}, JSON, c=${concurrency}: 8 alternating slices of 3 s after 30 s of warm-up`)
  console.log('| variant | requests | thread | collection | requests between two | pause µs a request | promoted bytes a request |')
  console.log('| --- | ---: | --- | --- | ---: | ---: | ---: |')
  for (const run of runs) {
    const kinds = new Map<string, { count: number; pauseMs: number; promoted: number }>()
    for (const line of run.trace.split('\n')) {
      // `[pid:isolate:thread]   1234 ms: pause=… gc=s …`
      const thread = /^\[\d+:0x[0-9a-f]+:(\d+)\]/.exec(line)?.[1]
      const kind = / gc=(\S+) /.exec(line)?.[1]
      if (!kind || thread === undefined) continue
      const key = `${thread === '0' ? 'main' : `worker ${thread}`} | ${kind}`
      const sum = kinds.get(key) ?? { count: 0, pauseMs: 0, promoted: 0 }
      sum.count++
      sum.pauseMs += Number(/ pause=([\d.]+)/.exec(line)?.[1] ?? 0)
      sum.promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0)
      kinds.set(key, sum)
    }
    const per = (value: number) => (value / run.requests).toFixed(2)
    for (const [threadAndKind, sum] of [...kinds].sort(([a], [b]) => a.localeCompare(b))) {
      console.log(`| ${run.name} | ${run.requests} | ${threadAndKind} | ${Math.round(run.requests / sum.count)} | ${per(sum.pauseMs * 1000)} | ${Math.round(sum.promoted / run.requests)} |`)
    }
  }
} finally {
  for (const run of runs) await run.gateway.stop()
  await upstream.stop()
  await sink.stop()
}
