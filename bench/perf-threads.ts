// CPU per request by thread and by function, as Linux perf samples it (on-CPU time, kernel
// included), for gateway variants under the same JSON load, taken in turns:
// `node bench/perf-threads.ts NAME=DIR[?KEY=VALUE&…] NAME=DIR[?…] [TOP]` (TOP 30; telemetry on,
// c=32; WARM_SECONDS=10, LOAD_SECONDS=6 per variant, in SLICES=6 slices taken in turn, the order
// reversed every other time). Needs `perf` (Debian: linux-perf).
// Why not --cpu-prof: V8's profiler samples the main thread on a wall clock, so time the thread
// spent waiting for a core (the telemetry worker, the load generator and the upstream share two)
// lands on whatever it was running, mostly the socket write (bench/RESULTS.md, fifteenth round).
// Prints each variant's µs a request by thread (MainThread, WorkerThread: the telemetry worker,
// V8Worker: V8's compiler and GC helpers), then for each of the three the functions whose time
// differs most from the first variant's. CALLERS=REGEX (call graphs, `-g`)
// also gives the main thread's samples whose leaf matches (e.g. `KeyedStoreIC|Megamorphic`) by
// their nearest JS function: who calls the builtins that self time alone shows. C: the
// concurrency (32); FALLBACK=1: the fallback route group of bench/fallback-ab.ts (target 1 answers
// every call 503 at once, target 2 serves); API=chat|responses|messages (chat: the API called, bench/lib/ingress.ts).
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { jsonLoad } = await import('./lib/load.ts')
const { startGateway, startOtlpSink, startUpstream, telemetryEnv, variantsOf } = await import('./lib/procs.ts')
const { fallbackConfig } = await import('./lib/routing.ts')
const { ingressFromEnv, ingressTarget } = await import('./lib/ingress.ts')

const args = process.argv.slice(2)
const top = /^\d+$/.test(args.at(-1) ?? '') ? Number(args.pop()) : 30
const variants = variantsOf(args)
if (variants.length < 1) throw new Error('usage: node bench/perf-threads.ts NAME=DIR[?KEY=VALUE] … [TOP]')
if (spawnSync('perf', ['--version']).status !== 0) throw new Error('perf is not installed (Debian: apt-get install linux-perf)')
const warmSeconds = Number(process.env.WARM_SECONDS ?? 10)
const seconds = Number(process.env.LOAD_SECONDS ?? 6)
const dir = mkdtempSync('/tmp/perf-threads-')

/** µs a request by thread name, by `thread symbol`, and (CALLERS) by nearest JS caller of the main thread's matching leaves. */
interface Reading {
  requests: number
  threads: Map<string, number>
  symbols: Map<string, number>
  callers: Map<string, number>
}

const callersOf = process.env.CALLERS ? new RegExp(process.env.CALLERS) : undefined

const concurrency = Number(process.env.C ?? 32)
const ingress = ingressFromEnv()
const upstream = await startUpstream()
const down = process.env.FALLBACK === '1' ? await startUpstream({ BENCH_FAIL_STATUS: '503' }) : undefined
const sink = await startOtlpSink()
const fallback = down && join(dir, 'fallback.json')
if (down && fallback) {
  writeFileSync(fallback, JSON.stringify(fallbackConfig(down.url, upstream.url)))
}
const slices = Number(process.env.SLICES ?? 6)
/** Each variant's warm-up and measured load are split into `slices` whole seconds each. */
const sliceSeconds = (total: number) => Math.max(1, Math.round(total / slices))
const readings: Reading[] = []
const gateways: Array<Awaited<ReturnType<typeof startGateway>>> = []
try {
  for (const variant of variants) {
    process.env.BENCH_GATEWAY_DIR = variant.dir
    // --perf-basic-prof: the JIT's code is named in /tmp/perf-PID.map, which perf reads.
    gateways.push(await startGateway(upstream.url, { ...telemetryEnv('on', sink.url), ...(fallback ? { GATEWAY_CONFIG: fallback } : {}), ...variant.env }, ['--perf-basic-prof']))
  }
  const targets = gateways.map((gateway) => ingressTarget(gateway.url, ingress))
  // Warm-up and measurement both in alternating slices, every variant's perf recording throughout:
  // what the machine does meanwhile (its CPU steal comes and goes within seconds) falls on all alike.
  for (let s = 0; s < slices; s++) for (const target of targets) await jsonLoad(target, concurrency, sliceSeconds(warmSeconds))
  const recordings = gateways.map((gateway, i) => record(join(dir, `${variants[i]!.name}.data`), gateway.child.pid!))
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (const recording of recordings) recording.check()
  const requests = variants.map(() => 0)
  for (let s = 0; s < slices; s++) {
    for (const i of s % 2 ? [...targets.keys()].reverse() : targets.keys()) {
      const result = await jsonLoad(targets[i]!, concurrency, sliceSeconds(seconds))
      requests[i]! += result.ok + result.failed
    }
  }
  for (const recording of recordings) await recording.stop()
  recordings.forEach((recording, i) => readings.push(read(recording.data, requests[i]!)))
} finally {
  for (const gateway of gateways) {
    await gateway.stop()
    rmSync(`/tmp/perf-${gateway.child.pid}.map`, { force: true })
  }
  await upstream.stop()
  await down?.stop()
  await sink.stop()
}

/** `perf record` of one process, on-CPU time (cpu-clock: whatever counters the machine has, a VM may have none). */
function record(data: string, pid: number) {
  const perf = spawn('perf', ['record', '-e', 'cpu-clock', ...(callersOf ? ['-g'] : []), '-F', '1999', '-o', data, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let complaint = ''
  perf.stderr.on('data', (chunk: Buffer) => (complaint += chunk.toString()))
  const closed = new Promise<number | null>((resolve) => perf.once('close', resolve))
  return {
    data,
    check: () => {
      if (perf.exitCode !== null) throw new Error(`perf record stopped at once: ${complaint}`)
    },
    stop: async () => {
      perf.kill('SIGINT')
      await closed
    },
  }
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
  return { requests, threads, symbols, callers: callersOf ? leafCallers(data, requests, callersOf) : new Map() }
}

/** The main thread's samples whose leaf matches `leaf`, by the nearest JS function on their stack (µs a request). */
function leafCallers(data: string, requests: number, leaf: RegExp): Map<string, number> {
  const script = spawnSync('perf', ['script', '-i', data, '-F', 'comm,period,ip,sym'], { encoding: 'utf8', maxBuffer: 2048 * 1024 * 1024 })
  if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr}`)
  const callers = new Map<string, number>()
  for (const sample of script.stdout.split('\n\n')) {
    const [head, ...frames] = sample.split('\n').filter((line) => line.trim() !== '')
    const [thread, period] = head?.trim().split(/\s+/) ?? []
    if (thread !== 'MainThread' || frames.length === 0) continue
    const symbols = frames.map((frame) => frame.trim().replace(/^[0-9a-f]+\s+/, ''))
    if (!leaf.test(symbols[0]!)) continue
    const js = symbols.slice(1).find((symbol) => symbol.startsWith('JS:') && /file:\/\/|node:/.test(symbol))
    const caller = js ? js.replace(/^JS:[*~^+]?'?/, '').replace(/file:\/\/\S*?\/(src|node_modules)\//, '$1/') : '(no JS frame)'
    callers.set(caller, (callers.get(caller) ?? 0) + Number(period) / 1000 / requests)
  }
  return callers
}

const names = [...new Set(readings.flatMap((reading) => [...reading.threads.keys()]))].sort()
const fixed = (value: number | undefined) => (value ?? 0).toFixed(1)
console.log(`CPU µs a request by thread (perf, ${ingress.path}, c=${concurrency}${fallback ? ', fallback' : ''}, ${slices * sliceSeconds(seconds)} s after ${slices * sliceSeconds(warmSeconds)} s of warm-up, each in ${slices} slices alternating between the variants)`)
console.log(`| variant | requests | total | ${names.join(' | ')} |\n| --- | ---: | ---: |${' ---: |'.repeat(names.length)}`)
variants.forEach((variant, i) => {
  const { requests, threads } = readings[i]!
  const total = [...threads.values()].reduce((sum, us) => sum + us, 0)
  console.log(`| ${variant.name} | ${requests} | ${fixed(total)} | ${names.map((name) => fixed(threads.get(name))).join(' | ')} |`)
})
/** The rows of `a` and `b` (µs a request) that differ most, as a table headed by `title`. */
function printDifferences(title: string, names: [string, string], column: string, a: Map<string, number>, b: Map<string, number>, label = (key: string) => key): void {
  const rows = [...new Set([...a.keys(), ...b.keys()])].map((key) => ({ key, a: a.get(key) ?? 0, b: b.get(key) ?? 0 })).sort((x, y) => Math.abs(y.a - y.b) - Math.abs(x.a - x.b))
  console.log(`\n${title}\n| difference | ${names[0]} | ${names[1]} | ${column} |\n| ---: | ---: | ---: | --- |`)
  for (const row of rows.slice(0, top)) console.log(`| ${(row.a - row.b).toFixed(2)} | ${row.a.toFixed(2)} | ${row.b.toFixed(2)} | ${label(row.key).slice(0, 140)} |`)
}

/** Where a symbol belongs: the gateway's telemetry, the rest of the gateway, a package, Node's JS, V8's builtins and runtime, the kernel. */
function areaOf(symbol: string): string {
  if (/(^|\s)src\/telemetry\//.test(symbol)) return 'gateway: src/telemetry'
  if (/(^|\s)src\//.test(symbol)) return 'gateway: the rest of src'
  const pkg = /(?:^|\s|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(symbol)?.[1]
  if (pkg) return `package: ${pkg.startsWith('@opentelemetry/') ? '@opentelemetry/*' : pkg}`
  if (/(^|\s)node:/.test(symbol)) return "Node's JS (node:*)"
  if (symbol.startsWith('Builtins_')) return "V8's builtins (inline caches, promises, calls …)"
  if (symbol.startsWith('v8::') || symbol.startsWith('node::') || symbol.startsWith('uv_') || symbol.startsWith('std::')) return 'V8, Node and libuv (C++)'
  if (/^(wasm|js-to-wasm|wasm-to-js)/.test(symbol)) return "wasm (undici's llhttp)"
  if (/^(_int_|malloc|cfree|free|__mem|unlink_chunk|__libc)/.test(symbol)) return 'libc (malloc, memcpy)'
  return 'the kernel, and the rest'
}

const sum = (values: Map<string, number>) => [...values.values()].reduce((total, us) => total + us, 0).toFixed(2)
for (let i = 1; i < readings.length; i++) {
  const names: [string, string] = [variants[i]!.name, variants[0]!.name]
  // By area first: a function inlined into its caller in one variant and not in the other moves
  // its time between two rows of the table by function, but not between areas.
  const areas = (symbols: Map<string, number>) => {
    const out = new Map<string, number>()
    for (const [key, us] of symbols) {
      if (!key.startsWith('MainThread ')) continue
      const area = areaOf(key.slice('MainThread '.length))
      out.set(area, (out.get(area) ?? 0) + us)
    }
    return out
  }
  printDifferences(`MainThread by area: ${names[0]} − ${names[1]}, µs a request`, names, 'area', areas(readings[i]!.symbols), areas(readings[0]!.symbols))
  for (const thread of ['MainThread', 'WorkerThread', 'V8Worker']) {
    const own = (symbols: Map<string, number>) => new Map([...symbols].filter(([key]) => key.startsWith(`${thread} `)))
    printDifferences(`${thread}: ${names[0]} − ${names[1]}, µs a request`, names, 'function', own(readings[i]!.symbols), own(readings[0]!.symbols), (key) => key.slice(thread.length + 1))
  }
  if (callersOf) {
    const [a, b] = [readings[i]!.callers, readings[0]!.callers]
    printDifferences(`MainThread, leaves matching /${callersOf.source}/ by nearest JS function: ${names[0]} ${sum(a)} − ${names[1]} ${sum(b)} µs a request`, names, 'nearest JS function', a, b)
  }
}
