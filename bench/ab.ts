// A/B of gateway checkouts in short alternating slices: `node bench/ab.ts NAME=DIR NAME=DIR …`.
// All variants run at once (an idle one costs nothing) and the load moves between them every
// SLICE_SECONDS, so what this shared VM does to the CPU (its speed varied 2× within minutes) hits
// neighbouring slices alike. Prints each variant's median CPU per request and, against the first
// variant, the median of the slice-by-slice ratios with their interquartile range.
// Env: MODE=on|off (on), LOAD=json|stream (json), C=32, SLICES=16, SLICE_SECONDS=2,
// API=chat|responses|messages (chat: the ingress API called, bench/lib/ingress.ts).
// Also prints p99 latency per variant (median over slices): at C=1 that is the added-latency figure.
// A variant given `SCRAPED=1` (`'on=.?SCRAPED=1'`) has its /metrics read every second for the whole run, as
// `npm run bench` reads every telemetry-on gateway's (the gateway ignores the variable). GAP_SECONDS (0): the
// machine left idle after each slice, as the run of record leaves each target between its turns.
// PIN=1: the gateways' main threads on CPU 0 (one under load at a time), everything else (their
// telemetry workers and V8's helper threads, the upstream, the sink, this process and its load) on
// CPU 1, with `taskset`: the gateway under load has a core of its own for its main thread. Threads a
// main thread starts later (libuv's pool) inherit CPU 0.
import { spawnSync } from 'node:child_process'
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { jsonLoad, streamLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv, variantsOf } = await import('./lib/procs.ts')
const { ingressFromEnv, ingressTarget } = await import('./lib/ingress.ts')
const { scraper } = await import('./lib/suite.ts')

// NAME=DIR or NAME=DIR?KEY=VALUE&KEY=VALUE (environment of that variant only, e.g. a setting's A/B).
const variants = variantsOf(process.argv.slice(2))
if (variants.length < 2) throw new Error('usage: node bench/ab.ts NAME=DIR NAME=DIR [NAME=DIR …]')
const mode = process.env.MODE ?? 'on'
const load = (process.env.LOAD ?? 'json') === 'stream' ? streamLoad : jsonLoad
const connections = Number(process.env.C ?? 32)
const slices = Number(process.env.SLICES ?? 16)
const sliceSeconds = Number(process.env.SLICE_SECONDS ?? 2)
const gapSeconds = Number(process.env.GAP_SECONDS ?? 0)
const ingress = ingressFromEnv()

const upstream = await startUpstream()
const sink = await startOtlpSink()
const env = telemetryEnv(mode, sink.url)
const gateways = []
for (const variant of variants) {
  process.env.BENCH_GATEWAY_DIR = variant.dir
  gateways.push(await startGateway(upstream.url, { ...env, ...variant.env }))
}
if (process.env.PIN === '1') {
  const pin = (cpu: number, pid: number | undefined, allThreads: boolean) => {
    const run = spawnSync('taskset', [...(allThreads ? ['-a'] : []), '-p', '-c', String(cpu), String(pid)])
    if (run.status !== 0) throw new Error(`taskset ${pid}: ${run.error?.message ?? run.stderr.toString()}`)
  }
  for (const proc of [upstream, sink]) pin(1, proc.child.pid, true)
  pin(1, process.pid, true)
  for (const gateway of gateways) {
    pin(1, gateway.child.pid, true)
    pin(0, gateway.child.pid, false)
  }
}
const scrapes = gateways.filter((_, i) => variants[i]!.env.SCRAPED === '1').map((g) => scraper(g.url))
const cpu: number[][] = variants.map(() => [])
const rps: number[][] = variants.map(() => [])
const p99: number[][] = variants.map(() => [])
const p50: number[][] = variants.map(() => [])
// Every request each variant saw, warm-up included: per-request figures of a profile taken with
// BENCH_GATEWAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=…'.
const served = variants.map(() => 0)
try {
  const targets = gateways.map((g) => ingressTarget(g.url, ingress))
  for (const [i, target] of targets.entries()) {
    const warmUp = await load(target, connections, 2) // warm-up: JIT, pools
    served[i]! += warmUp.ok + warmUp.failed
  }
  for (let slice = 0; slice < slices; slice++) {
    // Alternate the order too, so neither variant always follows the other.
    const order = slice % 2 ? [...variants.keys()].reverse() : [...variants.keys()]
    for (const i of order) {
      const result = await load(targets[i]!, connections, sliceSeconds, [gateways[i]!.child.pid])
      served[i]! += result.ok + result.failed
      cpu[i]!.push(result.cpuUsPerRequest ?? NaN)
      rps[i]!.push(result.rps)
      p99[i]!.push(result.latency.p99)
      p50[i]!.push(result.latency.p50)
      if (gapSeconds > 0) await new Promise((resolve) => setTimeout(resolve, gapSeconds * 1000))
    }
  }
} finally {
  for (const scrape of scrapes) scrape.stop()
  for (const gateway of gateways) await gateway.stop()
  await upstream.stop()
  await sink.stop()
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b)
const quantile = (values: number[], q: number) => sorted(values)[Math.min(values.length - 1, Math.floor(q * values.length))]!
console.log(`${ingress.path}, ${process.env.LOAD ?? 'json'}, telemetry ${mode}, c=${connections}: ${slices} alternating slices of ${sliceSeconds} s`)
// Slice by slice: each of a variant's slices against the first variant's slice of the same turn,
// the statistic of the run of record's "req/s ÷ telemetry off" (its rounds' median).
const bySlice = (values: number[][], i: number, digits: number) => {
  const ratios = values[i]!.map((value, slice) => value / values[0]![slice]!)
  return i === 0 ? '–' : `${quantile(ratios, 0.5).toFixed(digits)} [${quantile(ratios, 0.25).toFixed(digits)}–${quantile(ratios, 0.75).toFixed(digits)}]`
}
console.log('| variant | CPU µs/request (median) | req/s (median) | p50 ms | p99 ms | CPU ÷ first, slice by slice: median [IQR] | req/s ÷ first, slice by slice: median [IQR] |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
variants.forEach(({ name }, i) => {
  const ms = (values: number[]) => quantile(values, 0.5).toFixed(2)
  console.log(`| ${name} | ${Math.round(quantile(cpu[i]!, 0.5))} | ${Math.round(quantile(rps[i]!, 0.5))} | ${ms(p50[i]!)} | ${ms(p99[i]!)} | ${bySlice(cpu, i, 3)} | ${bySlice(rps, i, 3)} |`)
})
console.log(`requests served (warm-up included): ${variants.map(({ name }, i) => `${name} ${served[i]}`).join(', ')}`)
