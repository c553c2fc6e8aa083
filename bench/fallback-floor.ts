// What a fallback costs anyone, against what the gateway adds to it: one node:http keep-alive
// client at c=1 times, in 1 s slices taken in turn, (1) a direct call to target 2, (2) a direct
// fallback (the client itself calls target 1, which refuses with 503 at once, then target 2: the
// least any fallback can take), (3) a plain call through the gateway and (4) a call through the
// gateway's fallback route group (bench/lib/routing.ts, as the run of record has it). Prints each
// one's p50 and p99, and the gateway's figures over both references.
// `node bench/fallback-floor.ts [DIR]` (the checkout to start, default: this one).
// Env: SLICES (24), WARM_SLICES (12), MODE (on: telemetry as the run of record has it; off).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { chatBody } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv } = await import('./lib/procs.ts')
const { fallbackConfig } = await import('./lib/routing.ts')
const { Samples } = await import('./lib/stats.ts')

if (process.argv[2]) process.env.BENCH_GATEWAY_DIR = process.argv[2]
const upstream = await startUpstream()
const down = await startUpstream({ BENCH_FAIL_STATUS: '503' })
const sink = await startOtlpSink()
const config = join(mkdtempSync('/tmp/fallback-floor-'), 'fallback.json')
writeFileSync(config, JSON.stringify(fallbackConfig(down.url, upstream.url)))
const env = { ...telemetryEnv(process.env.MODE ?? 'on', `${sink.url}/floor`), LOG_LEVEL: 'warn' }
const plain = await startGateway(upstream.url, env)
const group = await startGateway(upstream.url, { ...env, GATEWAY_CONFIG: config })

const agent = new Agent({ keepAlive: true, maxSockets: 1 })
const body = chatBody(false)
const length = String(Buffer.byteLength(body))

/** One POST of the bench's chat request, its answer read to the end; resolves with the status. */
function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const req = request({ host: hostname, port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': length } }, (res) => {
      res.on('data', () => {})
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function expect(url: string, status: number): Promise<void> {
  const got = await post(url)
  if (got !== status) throw new Error(`${url} answered ${got}, not ${status}`)
}

const ways: Array<[string, () => Promise<void>]> = [
  ['direct to target 2', () => expect(upstream.url, 200)],
  ['direct fallback (target 1 refuses, then target 2)', async () => (await expect(down.url, 503), expect(upstream.url, 200))],
  ['gateway, plain call', () => expect(plain.url, 200)],
  ['gateway, fallback route group', () => expect(group.url, 200)],
]
const samples = ways.map(() => new Samples())
const slices = Number(process.env.SLICES ?? 24)
const warm = Number(process.env.WARM_SLICES ?? 12)
for (let slice = 0; slice < warm + slices; slice++) {
  const order = slice % 2 ? [...ways.keys()].reverse() : [...ways.keys()]
  for (const i of order) {
    const end = performance.now() + 1000
    while (performance.now() < end) {
      const start = performance.now()
      await ways[i]![1]()
      if (slice >= warm) samples[i]!.add(performance.now() - start)
    }
  }
}

const [direct, directFallback, , viaGroup] = samples.map((s) => s.summary())
const ms = (v: number) => v.toFixed(3)
console.log(`c=1, node:http keep-alive client, ${slices} slices of 1 s each after ${warm} of warm-up, telemetry ${process.env.MODE ?? 'on'}`)
console.log('| way | requests | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |')
ways.forEach(([name], i) => {
  const s = samples[i]!.summary()
  console.log(`| ${name} | ${s.count} | ${ms(s.p50)} | ${ms(s.p99)} |`)
})
console.log(`a fallback's own cost (direct fallback − direct): p50 +${ms(directFallback!.p50 - direct!.p50)}, p99 +${ms(directFallback!.p99 - direct!.p99)}`)
console.log(`the gateway's fallback over a direct call: p50 +${ms(viaGroup!.p50 - direct!.p50)}, p99 +${ms(viaGroup!.p99 - direct!.p99)}`)
console.log(`the gateway's fallback over a direct fallback: p50 +${ms(viaGroup!.p50 - directFallback!.p50)}, p99 +${ms(viaGroup!.p99 - directFallback!.p99)}`)
for (const proc of [plain, group, upstream, down, sink]) await proc.stop()
process.exit(0)
