// Alternating A/B of environment variants of the gateway (telemetry on, JSON, c=32): CPU per request split into the main
// thread and the others (V8 helpers), user and system time, and page faults: node bench/threads-ab.ts '{}' '{"TRACE_STORE_MAX_TRACES":"0"}'
import { readFileSync, readdirSync } from 'node:fs'
import { ensureBenchDeps } from './lib/deps.ts'
ensureBenchDeps()
const { jsonLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv } = await import('./lib/procs.ts')
function threads(pid: number) {
  const out: Record<string, number> = {}
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const key = tid === String(pid) ? 'main' : 'helpers'
    out[key + '.user'] = (out[key + '.user'] ?? 0) + Number(f[11]) * 10_000
    out[key + '.sys'] = (out[key + '.sys'] ?? 0) + Number(f[12]) * 10_000
  }
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8'); const g = st.slice(st.lastIndexOf(')') + 2).split(' ')
  out.minflt = Number(g[7]); return out
}
const upstream = await startUpstream()
const sink = await startOtlpSink()
const variants = process.argv.slice(2)
const gws = []
// A variant's "BENCH_GATEWAY_DIR" runs that checkout (an A/B of two commits), not the environment's.
const dir = process.env.BENCH_GATEWAY_DIR
for (const v of variants) {
  const { BENCH_GATEWAY_DIR: own, ...env } = JSON.parse(v) as Record<string, string>
  if (own ?? dir) process.env.BENCH_GATEWAY_DIR = own ?? dir
  else delete process.env.BENCH_GATEWAY_DIR
  gws.push(await startGateway(upstream.url, { ...telemetryEnv('on', sink.url), ...env }))
}
const tot = variants.map(() => ({} as Record<string, number>)), n = variants.map(() => 0)
for (const g of gws) await jsonLoad({ url: g.url, path: '/v1/chat/completions', headers: {} }, 32, 2)
for (let s = 0; s < Number(process.env.SLICES ?? 8); s++) {
  for (const i of s % 2 ? [...gws.keys()].reverse() : [...gws.keys()]) {
    const g = gws[i]!
    const a = threads(g.child.pid!)
    const r = await jsonLoad({ url: g.url, path: '/v1/chat/completions', headers: {} }, 32, 2)
    const b = threads(g.child.pid!)
    for (const k of Object.keys(b)) tot[i]![k] = (tot[i]![k] ?? 0) + b[k]! - (a[k] ?? 0)
    n[i]! += r.ok + r.failed
  }
}
variants.forEach((v, i) => console.log(v, Object.entries(tot[i]!).map(([k, x]) => `${k} ${(x / n[i]!).toFixed(k === 'minflt' ? 2 : 0)}`).join(', ')))
for (const g of gws) await g.stop()
await upstream.stop(); await sink.stop()
