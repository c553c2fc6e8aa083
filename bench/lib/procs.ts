// Child processes of a bench run: every server under test runs in its own process, started
// with a clean environment and timed from spawn to its first successful answer.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BENCH = fileURLToPath(new URL('../', import.meta.url))

/** Node flags for every server started: the probe (see bench/servers/probe.ts). */
const PROBE = ['--expose-gc', '--import', new URL('../servers/probe.ts', import.meta.url).href]

export interface ProbeReport {
  rssKiB: number
  heapUsedKiB: number
  handles: Record<string, number>
}

export interface Proc {
  name: string
  url: string
  port: number
  child: ChildProcess
  /** Spawn to first successful answer on `readyPath`, in ms. */
  startupMs: number
  /** Last lines the process wrote (for error reports). */
  output: string[]
  rssKiB(): number
  /** After a full GC: memory and active handles, as the process itself sees them. */
  probe(): Promise<ProbeReport>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export function rssKiBOf(pid: number | undefined): number {
  if (!pid) return 0
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  } catch {
    return 0
  }
}

/** CPU time (user + system) the process has used so far, in ms; 0 when it cannot be read. */
export function cpuMsOf(pid: number | undefined): number {
  if (!pid) return 0
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return 0
  }
}

async function untilReady(url: string, child: ChildProcess, output: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}:\n${output.join('\n')}`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await response.arrayBuffer()
      if (response.ok) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${url}\n${output.join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export interface SpawnOptions {
  name: string
  args: string[]
  env?: Record<string, string>
  cwd?: string
  /** Path polled until it answers 2xx; `{port}` is filled in the args and env. */
  readyPath: string
  timeoutMs?: number
}

export async function spawnServer(options: SpawnOptions): Promise<Proc> {
  const port = await freePort()
  const fill = (s: string) => s.replaceAll('{port}', String(port))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    PORT: String(port),
    ...Object.fromEntries(Object.entries(options.env ?? {}).map(([k, v]) => [k, fill(v)])),
  }
  const output: string[] = []
  const probes: ProbeReport[] = []
  const started = performance.now()
  const child = spawn(process.execPath, [...PROBE, ...options.args.map(fill)], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8')
    let partial = ''
    stream.on('data', (data: string) => {
      const lines = (partial + data).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (!line) continue
        if (line.startsWith('{"bench_probe"')) probes.push((JSON.parse(line) as { bench_probe: ProbeReport }).bench_probe)
        else output.push(line)
      }
      if (output.length > 200) output.splice(0, output.length - 200)
    })
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  await untilReady(url + options.readyPath, child, output, options.timeoutMs ?? 30_000)
  const startupMs = performance.now() - started
  return {
    name: options.name,
    url,
    port,
    child,
    startupMs,
    output,
    rssKiB: () => rssKiBOf(child.pid),
    probe: async () => {
      const seen = probes.length
      child.kill('SIGUSR2')
      for (let i = 0; i < 250; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        if (probes.length > seen) return probes[seen]!
      }
      throw new Error(`${options.name} did not answer the probe`)
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

export const startUpstream = (env: Record<string, string> = {}) =>
  spawnServer({ name: 'upstream', args: ['bench/servers/upstream.ts'], env, readyPath: '/__bench/stats' })

export const startBareProxy = (upstream: string) =>
  spawnServer({ name: 'bare proxy', args: ['bench/servers/bare-proxy.ts'], env: { UPSTREAM: upstream }, readyPath: '/__bench/stats' })

/** SINK_VERIFY=1 in the bench's environment reaches the sink (each trace post also decoded by protobufjs, otlp-sink.ts). */
export const startOtlpSink = (env: Record<string, string> = {}) =>
  spawnServer({ name: 'otlp sink', args: ['bench/servers/otlp-sink.ts'], env: { ...(process.env.SINK_VERIFY === '1' ? { SINK_VERIFY: '1' } : {}), ...env }, readyPath: '/' })

/**
 * The gateway's telemetry in the runs of record: off, or on at 100 % sampling exporting OTLP to
 * `sinkUrl` (a path under the sink, e.g. `${sink.url}/on`, keeps that process's exports apart).
 */
export function telemetryEnv(mode: 'on' | 'off' | string, sinkUrl: string): Record<string, string> {
  return mode === 'off'
    ? { OTEL_SDK_DISABLED: 'true' }
    : { OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_METRIC_EXPORT_INTERVAL: '10000' }
}

/** The node flags of a checkout's start script (`node --flag … src/main.ts` in its package.json). */
function startFlags(dir: string): string[] {
  const { scripts } = JSON.parse(readFileSync(`${dir.replace(/\/?$/, '/')}package.json`, 'utf8')) as { scripts: { start: string } }
  return scripts.start.split(' ').filter((arg) => arg.startsWith('--'))
}

/**
 * The gateway as a user starts it (`npm start`: `node [flags] src/main.ts`), pointed at the bench upstream.
 * BENCH_GATEWAY_DIR runs another checkout instead (an optimisation's "before").
 */
export function startGateway(upstream: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<Proc> {
  const dir = process.env.BENCH_GATEWAY_DIR ?? ROOT
  return spawnServer({
    name: 'gateway',
    cwd: dir,
    // Node flags as `npm start` gives them; BENCH_GATEWAY_NODE_ARGS: extra ones for every gateway
    // started (e.g. --cpu-prof).
    args: [...startFlags(dir), ...(process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...nodeArgs, 'src/main.ts'],
    env: {
      HOST: '127.0.0.1',
      // Per-request info logs cost a JSON line and a write per request; production runs at warn.
      LOG_LEVEL: 'warn',
      OPENAI_API_KEY: 'sk-bench-not-a-real-key',
      OPENAI_BASE_URL: `${upstream}/v1`,
      // claude-* through the Anthropic provider, to the same upstream (it speaks the Messages API too).
      ANTHROPIC_API_KEY: 'sk-ant-bench-not-a-real-key',
      ANTHROPIC_BASE_URL: upstream,
      UPSTREAM_MAX_RETRIES: '2',
      ...env,
    },
    readyPath: '/ready',
  })
}

export const PORTKEY_SCRIPT = 'node_modules/@portkey-ai/gateway/build/start-server.js'

export const startPortkey = () =>
  spawnServer({ name: 'portkey', args: ['--import', './servers/portkey-shim.ts', PORTKEY_SCRIPT, '--port={port}', '--headless'], cwd: BENCH, readyPath: '/' })

/** A gateway checkout to compare, with environment of its own: `NAME=DIR` or `NAME=DIR?KEY=VALUE&KEY=VALUE` (the A/B tools' arguments). */
export interface Variant {
  name: string
  dir: string
  env: Record<string, string>
}

export function variantsOf(args: string[]): Variant[] {
  return args.map((arg) => {
    const [name, rest = ''] = arg.split(/=(.*)/s) as [string, string | undefined]
    const [dir, query] = rest.split('?') as [string, string | undefined]
    return { name, dir, env: Object.fromEntries(new URLSearchParams(query ?? '')) }
  })
}
