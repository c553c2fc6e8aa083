// Fallback scenario A/B of checkouts: a route group whose target 1 answers 503 at once (the run of record's fallback), every
// call served by target 2. node bench/fallback-ab.ts before=DIR after=.   Env: LOAD=stream, C (1), SLICES (8), MODE, PLAIN=1 (no route group).
// WARM1_SECONDS (16): each variant's load at C after the warm-up at c=32, before the slices, 2 s at a time in turn (a gateway's
// latency at c=1 settles only after 6-12 s of it: bench/RESULTS.md, sixteenth round).
// A variant's own environment as in ab.ts: `on=. 'off=.?OTEL_SDK_DISABLED=true'` (telemetry on against off, alternating).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { ensureBenchDeps } from './lib/deps.ts'
ensureBenchDeps()
const { jsonLoad, streamLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv, variantsOf } = await import('./lib/procs.ts')
const { fallbackConfig } = await import('./lib/routing.ts')
const upstream = await startUpstream()
const down = await startUpstream({ BENCH_FAIL_STATUS: '503' })
const sink = await startOtlpSink()
const file = mkdtempSync('/tmp/fb-') + '/fallback.json'
writeFileSync(file, JSON.stringify(fallbackConfig(down.url, upstream.url)))
const args = process.env.PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF}`] : []
const C = Number(process.env.C ?? 1)
const vs: Array<[string, Awaited<ReturnType<typeof startGateway>>]> = []
for (const { name, dir, env } of variantsOf(process.argv.slice(2))) {
  process.env.BENCH_GATEWAY_DIR = dir
  vs.push([name, await startGateway(upstream.url, { ...telemetryEnv(process.env.MODE ?? 'on', sink.url), LOG_LEVEL: 'warn', ...(process.env.PLAIN ? {} : { GATEWAY_CONFIG: file }), ...env }, args)])
}
const load = process.env.LOAD === 'stream' ? streamLoad : jsonLoad
const out = Object.fromEntries(vs.map(([n]) => [n, { cpu: [] as number[], p50: [] as number[], p99: [] as number[], ttfc: [] as number[], n: 0 }]))
for (const [name, g] of vs) out[name]!.n += (await load({ url: g.url, path: '/v1/chat/completions', headers: {} }, 32, 2)).ok
const warm1 = Number(process.env.WARM1_SECONDS ?? 16)
for (let s = 0; s < warm1 / 2; s++) for (const [name, g] of vs) out[name]!.n += (await load({ url: g.url, path: '/v1/chat/completions', headers: {} }, C, 2)).ok
for (let s = 0; s < Number(process.env.SLICES ?? 8); s++) {
  for (const [name, g] of s % 2 ? [...vs].reverse() : vs) {
    const r = await load({ url: g.url, path: '/v1/chat/completions', headers: {} }, C, 2, [g.child.pid])
    const o = out[name]!
    o.cpu.push(r.cpuUsPerRequest!); o.p50.push(r.latency.p50); o.p99.push(r.latency.p99); o.ttfc.push((r as { ttfc?: { p50: number } }).ttfc?.p50 ?? NaN); o.n += r.ok
  }
}
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!
const first = out[vs[0]![0]]!
for (const [k, v] of Object.entries(out)) console.log(k, 'cpu', med(v.cpu).toFixed(0), 'ratio', med(v.cpu.map((x, i) => x / first.cpu[i]!)).toFixed(3), 'p50', med(v.p50).toFixed(3), 'p99', med(v.p99).toFixed(3), 'ttfc', med(v.ttfc).toFixed(3), 'requests incl. warm-up', v.n)
for (const [, g] of vs) await g.stop()
await upstream.stop(); await down.stop(); await sink.stop(); process.exit(0)
