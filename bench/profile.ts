// Profile the gateway under one load: `node bench/profile.ts [json|stream] [on|off] [connections] [seconds]`
// starts the bench upstream, an OTLP sink and the gateway with --cpu-prof, runs the load, stops
// the gateway (which writes the profile) and prints where its CPU went (bench/profile-summary.ts).
import { mkdirSync, readdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { jsonLoad, streamLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv } = await import('./lib/procs.ts')

const [kind = 'json', mode = 'on', connectionsArg = '32', secondsArg = '10'] = process.argv.slice(2)
const connections = Number(connectionsArg)
const seconds = Number(secondsArg)
const dir = fileURLToPath(new URL(`./out/profiles/${kind}-${mode}-c${connections}-${Date.now()}/`, import.meta.url))
mkdirSync(dir, { recursive: true })

const upstream = await startUpstream()
const sink = await startOtlpSink()
const env = telemetryEnv(mode, sink.url)
// PROFILE_ENV='{"NAME":"value"}': extra environment for the gateway (an experiment's switches).
Object.assign(env, JSON.parse(process.env.PROFILE_ENV ?? '{}'))
const gateway = await startGateway(upstream.url, env, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
const target = { url: gateway.url, path: '/v1/chat/completions', headers: {} }
const load = kind === 'stream' ? streamLoad : jsonLoad
try {
  const warmUp = await load(target, connections, 2) // warm-up: JIT and pools, before the part that counts is long
  const result = await load(target, connections, seconds, [gateway.child.pid])
  // Every request the profile saw, for per-request figures (e.g. two profiles' difference).
  console.log(`requests in the profile: ${warmUp.ok + warmUp.failed + result.ok + result.failed}`)
  console.log(`${kind} telemetry ${mode} c=${connections}: ${Math.round(result.rps)} req/s, ${Math.round(result.cpuUsPerRequest ?? NaN)} µs CPU/request, p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms`)
} finally {
  await gateway.stop()
  await upstream.stop()
  await sink.stop()
}
const [file] = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
if (!file) throw new Error(`no profile written to ${dir}`)
console.log(`profile: ${dir}${file}`)
console.log(execFileSync(process.execPath, [fileURLToPath(new URL('./profile-summary.ts', import.meta.url)), dir + file, process.env.TOP ?? '40'], { encoding: 'utf8' }))
