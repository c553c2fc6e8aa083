// Issue 10, "signals" and ".env": what a process manager does to `npm start` / `./run start`.
// SIGTERM to the process it started (npm, or ./run which becomes npm) must stop the gateway, not
// leave it running as an orphan; and `.env` in the repository root is loaded.
// The commands run in a temporary directory that links to this checkout's package.json, sources
// and node_modules and holds its own .env, so the checkout's .env is neither read nor written.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

t.setTimeout(600_000)

const root = fileURLToPath(new URL('../../', import.meta.url))
const STARTUP_MS = 300_000

function checkoutWithEnv(dotenv: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-start-'))
  for (const name of ['package.json', 'package-lock.json', 'src', 'node_modules', 'run']) symlinkSync(join(root, name), join(dir, name))
  writeFileSync(join(dir, '.env'), dotenv)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

interface Started {
  launcher: ChildProcess
  /** The gateway's own process: the launcher's child. */
  gatewayPid: number
  port: number
  lines: string[]
}

/** Runs `command` in `cwd` and waits for the gateway's "listening" line. */
async function launch(cwd: string, command: string, args: string[]): Promise<Started> {
  const launcher = spawn(command, args, {
    cwd,
    // Node 24 first (npm's `#!/usr/bin/env node` and ./run pick it up), then the system's npm.
    env: { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, HOME: process.env.HOME ?? '/tmp', PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', SHUTDOWN_TIMEOUT_MS: '2000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (launcher.exitCode === null) launcher.kill('SIGKILL')
  })
  const lines: string[] = []
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line in time:\n${lines.join('\n')}`)), STARTUP_MS)
    const partial = { stdout: '', stderr: '' }
    const onData = (stream: 'stdout' | 'stderr') => (data: string) => {
      const whole = (partial[stream] + data).split('\n')
      partial[stream] = whole.pop() ?? ''
      lines.push(...whole.filter(Boolean))
      const listening = parsedLines(lines).find((l) => l.msg === 'listening')
      if (typeof listening?.port !== 'number') return
      clearTimeout(timer)
      resolve(listening.port)
    }
    launcher.stdout!.setEncoding('utf8').on('data', onData('stdout'))
    launcher.stderr!.setEncoding('utf8').on('data', onData('stderr'))
    launcher.once('exit', (code) => reject(new Error(`exited with ${code}:\n${lines.join('\n')}`)))
  })
  const gatewayPid = childrenOf(launcher.pid!)[0]
  if (gatewayPid === undefined) throw new Error('the launcher has no child process')
  return { launcher, gatewayPid, port, lines }
}

/** The JSON log records among `lines` (npm may print a line or two of its own). */
function parsedLines(lines: string[]): Array<Record<string, unknown>> {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch {
    return ''
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    // A zombie still answers signal 0: it is gone once its state says so.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs
  while (Date.now() < deadline) {
    if (!alive(pid)) return true
    await sleep(100)
  }
  return !alive(pid)
}

const dotenv = 'GATEWAY_API_KEYS=k-from-dotenv-file\nHOST=127.0.0.1\n'

for (const [name, command, args] of [
  ['npm start', 'npm', ['start', '--silent']],
  ['./run start', './run', ['start']],
] as const) {
  t.test(`${name}: loads .env, and SIGTERM to it stops the gateway (no orphan)`, async (t) => {
    const started = await launch(checkoutWithEnv(dotenv), command, [...args])
    t.match(commandOf(started.gatewayPid), /node .*src\/main\.ts/, 'the launcher\'s child is node itself (exec)')
    const listening = parsedLines(started.lines).find((l) => l.msg === 'listening')
    t.equal(listening?.auth, 'bearer keys', 'GATEWAY_API_KEYS came from .env')
    const refused = await fetch(`http://127.0.0.1:${started.port}/v1/models`)
    t.equal(refused.status, 401, 'a request without the key from .env is refused')
    await refused.arrayBuffer()
    const allowed = await fetch(`http://127.0.0.1:${started.port}/v1/models`, { headers: { authorization: 'Bearer k-from-dotenv-file' } })
    t.equal(allowed.status, 200, 'and with it, served')
    await allowed.arrayBuffer()

    started.launcher.kill('SIGTERM')
    t.ok(await gone(started.gatewayPid, 30_000), `the gateway (pid ${started.gatewayPid}) is gone after SIGTERM to ${name}`)
    t.ok(await gone(started.launcher.pid!, 30_000), `${name} itself has exited`)
    t.ok(started.lines.some((l) => l.includes('"draining"')), 'the gateway drained (it got the signal, it was not killed)')
  })
}

t.test('environment variables win over .env', async (t) => {
  const dir = checkoutWithEnv('PORT=0\nHOST=127.0.0.1\n')
  const launcher = spawn('npm', ['start', '--silent'], {
    cwd: dir,
    env: { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, HOME: process.env.HOME ?? '/tmp', PORT: 'not-a-port' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  launcher.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const code = await new Promise<number | null>((resolve) => launcher.once('exit', resolve))
  t.not(code, 0, "the environment's PORT is used (and refused), not .env's PORT=0")
  t.match(stderr, /PORT must be .*"not-a-port"/)
})
