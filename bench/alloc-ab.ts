// Where the gateway allocates, per JSON request, with telemetry on against off:
// `[C=32] [LOAD_SECONDS=4] [API=chat|responses|messages] [ON_ENV='{…}'] node bench/alloc-ab.ts [TOP=40]`. Each gateway runs V8's sampling heap
// profiler (from a preload, over the inspector) counting every sampled allocation, those the
// scavenger and the full GC collect included: what the collector has to work through, not what
// stays. Prints bytes per request by allocating function, the largest differences first.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { jsonLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv } = await import('./lib/procs.ts')
const { ingressFromEnv, ingressTarget } = await import('./lib/ingress.ts')

const connections = Number(process.env.C ?? 32)
const seconds = Number(process.env.LOAD_SECONDS ?? 4)
const top = Number(process.argv[2] ?? 40)
const ingress = ingressFromEnv()
if (!(top > 0)) throw new Error("usage: [C=32] [LOAD_SECONDS=4] [API=…] [ON_ENV='{…}'] node bench/alloc-ab.ts [TOP=40]")
const dir = mkdtempSync('/tmp/alloc-ab-')
const preload = join(dir, 'preload.mjs')
// SIGUSR2 writes what was sampled since the last one (to PID-N.heapprofile, N counting the dumps) and starts again.
writeFileSync(preload, `
import { Session } from 'node:inspector/promises'
import { renameSync, writeFileSync } from 'node:fs'
const session = new Session()
session.connect()
const options = { samplingInterval: 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }
await session.post('HeapProfiler.startSampling', options)
let dumps = 0
process.on('SIGUSR2', async () => {
  const { profile } = await session.post('HeapProfiler.stopSampling')
  const file = ${JSON.stringify(dir)} + '/' + process.pid + '-' + ++dumps + '.heapprofile'
  writeFileSync(file + '.part', JSON.stringify(profile))
  renameSync(file + '.part', file)
  await session.post('HeapProfiler.startSampling', options)
})
`)

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: ProfileNode[]
}

/** Bytes per request by allocating function (`name file:line`). */
function bytesBySite(file: string, requests: number): Map<string, number> {
  const sites = new Map<string, number>()
  const walk = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame
    const where = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')
    const site = `${functionName || '(anonymous)'} ${where}:${lineNumber}`
    sites.set(site, (sites.get(site) ?? 0) + node.selfSize / requests)
    for (const child of node.children) walk(child)
  }
  walk((JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode }).head)
  return sites
}

/** `file` once the gateway has written it, whole (it renames it into place), within 30 s. */
async function dumped(file: string): Promise<string> {
  for (let waited = 0; !existsSync(file); waited += 100) {
    if (waited > 30_000) throw new Error(`no heap profile at ${file}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return file
}

// ON_ENV: the telemetry-on gateway's extra environment, e.g. '{"OTEL_TRACES_SAMPLER":"always_off"}' (every span sampled out, against off).
const onEnv = JSON.parse(process.env.ON_ENV ?? '{}') as Record<string, string>
const upstream = await startUpstream()
const sink = await startOtlpSink()
const measured: Record<string, Map<string, number>> = {}
try {
  for (const mode of ['on', 'off']) {
    const env = { ...telemetryEnv(mode, sink.url), ...(mode === 'on' ? onEnv : {}) }
    const gateway = await startGateway(upstream.url, env, [`--import=${preload}`])
    const pid = gateway.child.pid!
    const target = ingressTarget(gateway.url, ingress)
    await jsonLoad(target, connections, 3) // warm-up: JIT, pools
    process.kill(pid, 'SIGUSR2')
    await dumped(join(dir, `${pid}-1.heapprofile`))
    const result = await jsonLoad(target, connections, seconds)
    process.kill(pid, 'SIGUSR2')
    measured[mode] = bytesBySite(await dumped(join(dir, `${pid}-2.heapprofile`)), result.ok + result.failed)
    await gateway.stop()
  }
} finally {
  await upstream.stop()
  await sink.stop()
}

const on = measured.on!
const off = measured.off!
const total = (sites: Map<string, number>) => [...sites.values()].reduce((sum, bytes) => sum + bytes, 0)
const onLabel = process.env.ON_ENV ? `telemetry on with ${process.env.ON_ENV}` : 'telemetry on'
console.log(`bytes allocated per JSON request (${ingress.path}) at c=${connections}: ${onLabel} ${Math.round(total(on))}, off ${Math.round(total(off))}`)
console.log('| on − off | on | off | allocated in |')
console.log('| ---: | ---: | ---: | --- |')
const rows = [...new Set([...on.keys(), ...off.keys()])].map((site) => [site, on.get(site) ?? 0, off.get(site) ?? 0] as const)
rows.sort((a, b) => b[1] - b[2] - (a[1] - a[2]))
for (const [site, a, b] of rows.slice(0, top)) console.log(`| ${Math.round(a - b)} | ${Math.round(a)} | ${Math.round(b)} | ${site} |`)
