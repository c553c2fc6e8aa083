// CPU per request by thread and by function, as Linux perf samples it (on-CPU time, kernel
// included), for gateway variants under the same JSON load one after the other:
// `node bench/perf-threads.ts NAME=DIR[?KEY=VALUE&…] NAME=DIR[?…] [TOP]` (TOP 30; telemetry on,
// c=32; WARM_SECONDS=10, LOAD_SECONDS=6). Needs `perf` (Debian: linux-perf).
// Why not --cpu-prof: V8's profiler samples the main thread on a wall clock, so time the thread
// spent waiting for a core (the telemetry worker, the load generator and the upstream share two)
// lands on whatever it was running, mostly the socket write (bench/RESULTS.md, fifteenth round).
// Prints each variant's µs a request by thread (MainThread, WorkerThread: the telemetry worker,
// V8Worker: V8's compiler and GC helpers), then for the main thread and the telemetry worker the
// functions whose time differs most from the first variant's.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { jsonLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv, variantsOf } = await import('./lib/procs.ts')

const args = process.argv.slice(2)
const top = /^\d+$/.test(args.at(-1) ?? '') ? Number(args.pop()) : 30
const variants = variantsOf(args)
if (variants.length < 1) throw new Error('usage: node bench/perf-threads.ts NAME=DIR[?KEY=VALUE] … [TOP]')
if (spawnSync('perf', ['--version']).status !== 0) throw new Error('perf is not installed (Debian: apt-get install linux-perf)')
const warmSeconds = Number(process.env.WARM_SECONDS ?? 10)
const seconds = Number(process.env.LOAD_SECONDS ?? 6)
const dir = mkdtempSync('/tmp/perf-threads-')

/** µs a request by thread name and by `thread symbol`. */
interface Reading {
  requests: number
  threads: Map<string, number>
  symbols: Map<string, number>
}

const upstream = await startUpstream()
const sink = await startOtlpSink()
const readings: Reading[] = []
try {
  for (const variant of variants) {
    process.env.BENCH_GATEWAY_DIR = variant.dir
    // --perf-basic-prof: the JIT's code is named in /tmp/perf-PID.map, which perf reads.
    const gateway = await startGateway(upstream.url, { ...telemetryEnv('on', sink.url), ...variant.env }, ['--perf-basic-prof'])
    const target = { url: gateway.url, path: '/v1/chat/completions', headers: {} }
    try {
      await jsonLoad(target, 32, warmSeconds)
      const data = join(dir, `${variant.name}.data`)
      // cpu-clock: on-CPU time in ns, whatever counters the machine has (a VM may have none).
      const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '1999', '-o', data, '-p', String(gateway.child.pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
      let complaint = ''
      perf.stderr.on('data', (chunk: Buffer) => (complaint += chunk.toString()))
      const closed = new Promise<number | null>((resolve) => perf.once('close', resolve))
      await new Promise((resolve) => setTimeout(resolve, 300))
      if (perf.exitCode !== null) throw new Error(`perf record stopped at once: ${complaint}`)
      const result = await jsonLoad(target, 32, seconds)
      perf.kill('SIGINT')
      await closed
      readings.push(read(data, result.ok + result.failed))
    } finally {
      await gateway.stop()
      rmSync(`/tmp/perf-${gateway.child.pid}.map`, { force: true })
    }
  }
} finally {
  await upstream.stop()
  await sink.stop()
}

/** perf's sample periods (ns of cpu-clock) by thread and symbol, as µs a request. */
function read(data: string, requests: number): Reading {
  const report = spawnSync('perf', ['report', '-i', data, '--no-children', '--sort', 'comm,sym', '--stdio', '-F', 'period,comm,sym'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  if (report.status !== 0) throw new Error(`perf report failed: ${report.stderr}`)
  const threads = new Map<string, number>()
  const symbols = new Map<string, number>()
  for (const line of report.stdout.split('\n')) {
    const match = /^\s*(\d+)\s+(\S+)\s+\[.\]\s+(.*)$/.exec(line)
    if (!match) continue
    const us = Number(match[1]) / 1000 / requests
    const thread = match[2]!
    // JIT code as perf-PID.map names it: `JS:*'name file:///…/src/x.ts:12:3`, the tier mark dropped.
    const symbol = match[3]!.trim().replace(/^JS:[*~^+]?'?/, '').replace(/file:\/\/\S*?\/(src|node_modules)\//, '$1/')
    threads.set(thread, (threads.get(thread) ?? 0) + us)
    symbols.set(`${thread} ${symbol}`, (symbols.get(`${thread} ${symbol}`) ?? 0) + us)
  }
  return { requests, threads, symbols }
}

const names = [...new Set(readings.flatMap((reading) => [...reading.threads.keys()]))].sort()
const fixed = (value: number | undefined) => (value ?? 0).toFixed(1)
console.log(`CPU µs a request by thread (perf, telemetry on, c=32, ${seconds} s after ${warmSeconds} s of warm-up)`)
console.log(`| variant | requests | total | ${names.join(' | ')} |\n| --- | ---: | ---: |${' ---: |'.repeat(names.length)}`)
variants.forEach((variant, i) => {
  const { requests, threads } = readings[i]!
  const total = [...threads.values()].reduce((sum, us) => sum + us, 0)
  console.log(`| ${variant.name} | ${requests} | ${fixed(total)} | ${names.map((name) => fixed(threads.get(name))).join(' | ')} |`)
})
for (let i = 1; i < readings.length; i++) {
  for (const thread of ['MainThread', 'WorkerThread']) {
    const [a, b] = [readings[i]!.symbols, readings[0]!.symbols]
    const keys = [...new Set([...a.keys(), ...b.keys()])].filter((key) => key.startsWith(`${thread} `))
    const rows = keys.map((key) => ({ key, a: a.get(key) ?? 0, b: b.get(key) ?? 0 })).sort((x, y) => Math.abs(y.a - y.b) - Math.abs(x.a - x.b))
    console.log(`\n${thread}: ${variants[i]!.name} − ${variants[0]!.name}, µs a request\n| difference | ${variants[i]!.name} | ${variants[0]!.name} | function |\n| ---: | ---: | ---: | --- |`)
    for (const row of rows.slice(0, top)) console.log(`| ${(row.a - row.b).toFixed(2)} | ${row.a.toFixed(2)} | ${row.b.toFixed(2)} | ${row.key.slice(thread.length + 1, thread.length + 141)} |`)
  }
}
