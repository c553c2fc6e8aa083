// Starts the real gateway (`node src/main.ts`) as a child process, as a user would, with a clean
// environment: nothing from the developer's shell (API keys, OTEL_*) leaks into a test.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface GatewayProcess {
  /** `http://127.0.0.1:PORT` */
  url: string
  /** `${url}/v1`, for the OpenAI SDK's baseURL. */
  baseURL: string
  child: ChildProcess
  /** Every line the process wrote to stdout and stderr, in order. */
  lines: string[]
  /** The JSON log records among `lines`. */
  logs(): Array<Record<string, unknown>>
  client(options?: { apiKey?: string; maxRetries?: number }): OpenAI
  /** Sends the signal and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** `usage` as the gateway answers it (OpenAI's shape, plus Anthropic's cache writes and the cost). */
export interface OpenAIUsage {
  prompt_tokens: number
  completion_tokens: number
  prompt_tokens_details?: { cached_tokens?: number }
  cache_creation_input_tokens?: number
  cost_usd?: number
}

export interface StartOptions {
  /** Added to the base environment. */
  env?: Record<string, string>
  /** Extra node arguments placed before src/main.ts (e.g. `--import ./preload.mjs`). */
  nodeArgs?: string[]
  timeoutMs?: number
}

/** Fast export so tests see telemetry quickly; a dead collector address unless a test gives one. */
const BASE_ENV = {
  PORT: '0',
  LOG_LEVEL: 'info',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
  OTEL_METRIC_EXPORT_INTERVAL: '250',
  OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
  SHUTDOWN_TIMEOUT_MS: '3000',
  DEMO_TOKEN_DELAY_MS: '1',
  UPSTREAM_MAX_RETRIES: '0',
}

export async function startGateway(options: StartOptions = {}): Promise<GatewayProcess> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ...BASE_ENV,
    ...options.env,
  }
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), 'src/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Killed, or it would outlive the test run as an orphan (and load the machine for the next).
      child.kill('SIGKILL')
      reject(new Error(`gateway did not start in time:\n${lines.join('\n')}`))
    }, options.timeoutMs ?? 15_000)
    const onLine = (line: string) => {
      lines.push(line)
      if (!line.includes('"listening"')) return
      try {
        const record = JSON.parse(line) as { msg?: string; port?: number }
        if (record.msg === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer)
          resolve(record.port)
        }
      } catch {}
    }
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffered = ''
      stream.setEncoding('utf8')
      stream.on('data', (data: string) => {
        buffered += data
        let newline: number
        while ((newline = buffered.indexOf('\n')) >= 0) {
          onLine(buffered.slice(0, newline))
          buffered = buffered.slice(newline + 1)
        }
      })
    }
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code} before listening:\n${lines.join('\n')}`))
    })
  })
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    baseURL: `${url}/v1`,
    child,
    lines,
    logs: () =>
      lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>]
        } catch {
          return []
        }
      }),
    client: (clientOptions = {}) =>
      new OpenAI({ baseURL: `${url}/v1`, apiKey: clientOptions.apiKey ?? 'unused', maxRetries: clientOptions.maxRetries ?? 0 }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** How a gateway that was expected to refuse its configuration ended. */
export interface FailedStart {
  /** null: it had to be killed (it started anyway, or hung). */
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `node src/main.ts` with the base environment plus `options.env`, expecting it to refuse to
 * start. A gateway that starts anyway would run forever: it gets `timeoutMs`, then it is killed.
 */
export function failedStart(options: StartOptions = {}): Promise<FailedStart> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...BASE_ENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Waits for a JSON log line whose `msg` is `msg` (or matches it); throws with every line after `timeoutMs`. */
export async function waitForLog(gateway: GatewayProcess, msg: string | RegExp, timeoutMs = 30_000): Promise<void> {
  const matches = (line: Record<string, unknown>) => (typeof msg === 'string' ? line.msg === msg : msg.test(String(line.msg)))
  const until = Date.now() + timeoutMs
  while (!gateway.logs().some(matches)) {
    if (Date.now() > until) throw new Error(`no log line ${String(msg)} within ${timeoutMs} ms:\n${gateway.lines.join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
