// What each young-generation collection (scavenge) of the gateway keeps alive, one request at a
// time: `node bench/gc-survival.ts [json|stream] [off,on]`. A request's objects should die with it;
// what a scavenge finds alive it copies and then promotes, so the bytes surviving per scavenge set
// the pause (the p99 at c=1) and feed the full GCs. Read from V8's --trace-gc-nvp lines.
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { jsonLoad, streamLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv } = await import('./lib/procs.ts')

const [kind = 'json', modes = 'off,on'] = process.argv.slice(2)
const load = kind === 'stream' ? streamLoad : jsonLoad
const upstream = await startUpstream()
const sink = await startOtlpSink()
try {
  for (const mode of modes.split(',')) {
    const gateway = await startGateway(upstream.url, telemetryEnv(mode, sink.url), ['--trace-gc-nvp'])
    let out = ''
    gateway.child.stdout?.on('data', (data: Buffer) => (out += data))
    const target = { url: gateway.url, path: '/v1/chat/completions', headers: {} }
    await load(target, 1, 3) // warm-up: JIT, pools, the young generation's size
    out = ''
    const result = await load(target, 1, 5)
    await gateway.stop()
    const scavenges = out.split('\n').filter((line) => / gc=s /.test(line))
    const sum = (key: string) => scavenges.reduce((total, line) => total + Number(line.match(new RegExp(` ${key}=([\\d.]+)`))?.[1] ?? 0), 0)
    const requests = result.ok + result.failed
    const n = scavenges.length
    console.log(
      `${kind} telemetry ${mode} c=1: ${requests} requests, ${n} scavenges (${Math.round(requests / n)} requests each); ` +
        `survived ${Math.round(sum('new_space_survived') / n / 1024)} KiB per scavenge (${Math.round(sum('new_space_survived') / requests)} B per request), ` +
        `promoted ${Math.round(sum('promoted') / n / 1024)} KiB; pause ${(sum('pause') / n).toFixed(2)} ms; p99 ${result.latency.p99.toFixed(2)} ms`,
    )
  }
} finally {
  await upstream.stop()
  await sink.stop()
}
