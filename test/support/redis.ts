// A real Redis for the response cache's tests: Debian's `redis-server` on a free loopback port,
// in memory only (no RDB snapshots, no AOF) with its own temporary directory, so nothing is kept
// between runs. A test can stop it (SIGTERM, as an operator would), start it again on the same
// port (the gateway's client reconnects to the address it was given), kill it, or freeze it
// (SIGSTOP: the socket stays open but nothing answers, like a hung or swapped-out server).
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { Redis } from 'ioredis'

/** The redis-server binary (REDIS_SERVER_PATH, else the one on PATH), or undefined when there is none. */
export const REDIS_SERVER = executable(process.env.REDIS_SERVER_PATH) ?? (process.env.REDIS_SERVER_PATH ? undefined : onPath('redis-server'))

/**
 * Why a test skips when there is no redis-server. The wording `redis-server is not installed`
 * is what .ci/run looks for to fail a run that skipped for want of a program.
 */
export const REDIS_MISSING = `redis-server is not installed (${process.env.REDIS_SERVER_PATH ?? 'none on PATH'}): apt-get install -y --no-install-recommends redis-server, or set REDIS_SERVER_PATH (.ci/run installs it, so CI skips nothing)`

/** Where the gateway keeps response-cache entries in Redis (src/core/cache/redis-store.ts). */
export const CACHE_KEY_PATTERN = 'sik-llms-gateway:cache:v1:*'

/**
 * A GATEWAY_CONFIG in `dir` with one route group, `group`, served by OpenAI's `model` (point
 * OPENAI_BASE_URL at an emulator) and cached for an hour. Returns the file's path.
 */
export function cachedGroupConfig(dir: string, group: string, model = 'gpt-4o-mini'): string {
  const path = join(dir, 'gateway.json')
  writeFileSync(path, JSON.stringify({ routes: { [group]: { targets: [{ provider: 'openai', model }], cache: { ttlSeconds: 3600 } } } }))
  return path
}

export interface RedisServer {
  readonly port: number
  /** `redis://[:password@]127.0.0.1:PORT`, for REDIS_URL. */
  readonly url: string
  /** Everything redis-server printed, across restarts. */
  readonly output: string[]
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>
  /** SIGKILL, then waits for the process to exit. */
  kill(): Promise<void>
  /** Starts a stopped (or killed) server again on the same port, with an empty dataset. */
  restart(): Promise<void>
  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void
  /** SIGCONT after pause(). */
  resume(): void
  /** Answers PING (after AUTH when a password is set)? Gives up after `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>
  /** The keys matching `pattern` (KEYS, fine for a test's few), read with a client of its own. */
  keys(pattern?: string): Promise<string[]>
  /** CONFIG GET `parameter`: its value as the running server has it. */
  config(parameter: string): Promise<string | undefined>
  /** Stops the server if it runs and removes its directory. */
  close(): Promise<void>
}

export interface RedisOptions {
  /** Sets `requirepass`; the URL then carries it. */
  password?: string
  /** More redis-server arguments, after the test's own (a later one wins). */
  args?: string[]
  startTimeoutMs?: number
}

/** Every server still running, stopped if the test process exits without its teardown. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  if (!REDIS_SERVER) throw new Error(REDIS_MISSING)
  const binary = REDIS_SERVER
  const dir = mkdtempSync(join(tmpdir(), 'gateway-redis-'))
  const output: string[] = []
  const startTimeoutMs = options.startTimeoutMs ?? 10_000
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const launch = (port: number) => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', '']
    if (options.password !== undefined) args.push('--requirepass', options.password)
    args.push(...(options.args ?? []))
    const server = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(server)
    for (const stream of [server.stdout!, server.stderr!]) {
      stream.setEncoding('utf8').on('data', (data: string) => output.push(...data.split('\n').filter(Boolean)))
    }
    exited = new Promise((resolve) =>
      server.once('exit', () => {
        running.delete(server)
        resolve()
      }),
    )
    child = server
  }

  const ping = (timeoutMs = 1_000) => answersPing(port, options.password, timeoutMs)

  /** Started and answering, or an error with what it printed. */
  const up = async () => {
    const until = Date.now() + startTimeoutMs
    while (Date.now() < until) {
      if (child?.exitCode !== null || child?.signalCode !== null) break
      if (await ping(500)) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const stillRunning = child && child.exitCode === null && child.signalCode === null
    if (stillRunning) child!.kill('SIGKILL')
    await exited
    throw new Error(`redis-server did not answer PING on port ${port}:\n${output.join('\n')}`)
  }

  // A free port can be taken by someone else between looking and binding: try a few.
  let port = 0
  for (let attempt = 1; ; attempt++) {
    port = await freePort()
    launch(port)
    try {
      await up()
      break
    } catch (error) {
      if (attempt === 3) {
        rmSync(dir, { recursive: true, force: true })
        throw error
      }
    }
  }

  const alive = () => !!child && child.exitCode === null && child.signalCode === null
  const signal = async (name: NodeJS.Signals) => {
    if (!alive()) return
    child!.kill('SIGCONT') // a paused server would never act on SIGTERM
    child!.kill(name)
    await exited
  }
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`
  const withClient = async <T>(use: (client: Redis) => Promise<T>): Promise<T> => {
    const client = new Redis({ host: '127.0.0.1', port, password: options.password, lazyConnect: true, maxRetriesPerRequest: 0 })
    client.on('error', () => {}) // connect() rejects with it
    try {
      await client.connect()
      return await use(client)
    } finally {
      client.disconnect()
    }
  }
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    output,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    restart: async () => {
      if (alive()) throw new Error('redis-server is still running: stop() or kill() it first')
      launch(port)
      await up()
    },
    pause: () => {
      if (alive()) child!.kill('SIGSTOP')
    },
    resume: () => {
      if (alive()) child!.kill('SIGCONT')
    },
    ping,
    keys: (pattern = '*') => withClient((client) => client.keys(pattern)),
    config: (parameter) => withClient(async (client) => ((await client.config('GET', parameter)) as string[])[1]),
    close: async () => {
      await signal('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Sends AUTH (when there is a password) and PING in Redis' inline form; true on +PONG. */
function answersPing(port: number, password: string | undefined, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let received = ''
    const done = (answer: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('error', () => done(false))
    socket.once('connect', () => {
      // RESP array form, so a password with spaces or quotes is sent as it is.
      const command = (...parts: string[]) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`
      socket.write((password === undefined ? '' : command('AUTH', password)) + command('PING'))
    })
    socket.setEncoding('utf8').on('data', (data: string) => {
      received += data
      if (received.includes('+PONG\r\n')) done(true)
      else if (received.startsWith('-') && received.includes('\r\n')) done(false)
    })
  })
}

function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const found = dir ? executable(join(dir, program)) : undefined
    if (found) return found
  }
  return undefined
}

function executable(path: string | undefined): string | undefined {
  if (!path) return undefined
  try {
    accessSync(path, constants.X_OK)
    return path
  } catch {
    return undefined
  }
}
