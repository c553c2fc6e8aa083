// Before/after of one optimisation: `node bench/compare.ts NAME=DIR NAME=DIR …` runs the gateway
// from each checkout DIR (its own src/, this repo's node_modules) against the same upstream,
// telemetry on and off, interleaved over ROUNDS rounds so that drift on a shared machine hits
// every variant alike, and prints the median of each figure. Used for the optimisation log in
// bench/RESULTS.md; `npm run bench` is the run of record.
import { writeFileSync } from 'node:fs'
import { ensureBenchDeps } from './lib/deps.ts'
import { median } from './lib/stats.ts'

ensureBenchDeps()
const { jsonLoad, streamLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv } = await import('./lib/procs.ts')

const variants = process.argv.slice(2).map((arg) => {
  const [name, dir] = arg.split('=') as [string, string]
  return { name, dir }
})
if (!variants.length) throw new Error('usage: node bench/compare.ts NAME=DIR [NAME=DIR …]')
const rounds = Number(process.env.ROUNDS ?? 3)
const seconds = Number(process.env.SECONDS_PER_POINT ?? 5)
const modes = (process.env.MODES ?? 'off,on').split(',')
const loads = new Set((process.env.LOADS ?? 'json32,json1,stream32,stream1').split(','))

const upstream = await startUpstream()
const sink = await startOtlpSink()
type Figures = Record<string, number[]>
const results = new Map<string, Figures>()
const add = (key: string, figure: string, value: number) => {
  const figures = results.get(key) ?? {}
  ;(figures[figure] ??= []).push(value)
  results.set(key, figures)
}
try {
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      for (const { name, dir } of variants) {
        process.env.BENCH_GATEWAY_DIR = dir
        const gateway = await startGateway(upstream.url, telemetryEnv(mode, sink.url))
        const target = { url: gateway.url, path: '/v1/chat/completions', headers: {} }
        try {
          await jsonLoad(target, 32, 2)
          await streamLoad(target, 32, 1)
          const key = `${name} (telemetry ${mode})`
          const pids = [gateway.child.pid]
          // LOADS=json32,stream32,json1,stream1 (default all): fewer loads, more rounds in the same time.
          if (loads.has('json32')) {
            const j32 = await jsonLoad(target, 32, seconds, pids)
            add(key, 'gateway CPU µs per JSON request', j32.cpuUsPerRequest ?? NaN)
            add(key, 'JSON req/s c=32', j32.rps)
          }
          if (loads.has('json1')) add(key, 'JSON p50 ms c=1', (await jsonLoad(target, 1, seconds)).latency.p50)
          if (loads.has('stream32')) {
            const s32 = await streamLoad(target, 32, seconds, pids)
            add(key, 'gateway CPU µs per stream', s32.cpuUsPerRequest ?? NaN)
            add(key, 'streams/s c=32', s32.rps)
          }
          if (loads.has('stream1')) {
            const s1 = await streamLoad(target, 1, seconds)
            add(key, 'TTFC p50 ms c=1', s1.ttfc.p50)
            add(key, 'stream p50 ms c=1', s1.latency.p50)
          }
          process.stderr.write(`compare: round ${round + 1} ${key} done\n`)
        } finally {
          await gateway.stop()
        }
      }
    }
  }
} finally {
  await upstream.stop()
  await sink.stop()
}
writeFileSync(new URL('./out/compare-raw.json', import.meta.url), JSON.stringify(Object.fromEntries(results), null, 1))
const figures = Object.keys([...results.values()][0] ?? {})
console.log(`| variant | ${figures.join(' | ')} |`)
console.log(`| --- | ${figures.map(() => '---:').join(' | ')} |`)
for (const [key, values] of results) {
  console.log(`| ${key} | ${figures.map((f) => { const m = median(values[f]!); return m < 10 ? m.toFixed(2) : Math.round(m) }).join(' | ')} |`)
}
console.log(`\n${rounds} interleaved rounds, ${seconds} s per point, medians.`)
