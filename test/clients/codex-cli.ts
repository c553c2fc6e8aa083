// Runs the real Codex CLI (`codex exec`, the @openai/codex devDependency: a native binary in the
// platform package npm picks, no install script) against a gateway, as a user configures it: a
// custom model provider in config.toml with `wire_api = "responses"`. Each run gets its own
// CODEX_HOME (which is also HOME, so nothing from the developer's ~/.codex is read) and an empty
// working directory, a read-only sandbox, no approvals, and no network beyond loopback: the calls
// Codex makes on its own (update check, analytics, the plugin catalog: github.com and chatgpt.com)
// are switched off, and anything else is sent to a dead proxy. --strict-config makes a setting a
// later Codex no longer knows an error instead of silently ignored.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The npm wrapper: it finds the platform binary and forwards signals to it. */
const CODEX = createRequire(import.meta.url).resolve('@openai/codex/bin/codex.js')
/** Nothing listens on port 9 (discard): a request Codex sends outside loopback is refused at once. */
const DEAD_PROXY = 'http://127.0.0.1:9'

export interface CodexRun {
  /** null when it had to be killed at the deadline. */
  code: number | null
  /** What `codex exec` prints on stdout: the final message. */
  stdout: string
  /** The transcript: configuration, the commands it ran, warnings, errors. */
  stderr: string
  /** The file `--output-last-message` wrote ('' when none). */
  lastMessage: string
}

export interface CodexOptions {
  /** The OpenAI-style base URL Codex calls, `<gateway>/v1`. */
  baseURL: string
  /** Left out: Codex's own default model. */
  model?: string
  prompt: string
  timeoutMs?: number
}

export async function runCodex(options: CodexOptions): Promise<CodexRun> {
  const home = mkdtempSync(join(tmpdir(), 'codex-home-'))
  const work = mkdtempSync(join(tmpdir(), 'codex-work-'))
  try {
    writeFileSync(join(home, 'config.toml'), configToml(options))
    const lastMessageFile = join(home, 'last-message.txt')
    const args = ['exec', '--skip-git-repo-check', '--strict-config', '--ephemeral', '--sandbox', 'read-only', '--color', 'never']
    args.push('--cd', work, '--output-last-message', lastMessageFile, options.prompt)
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      CODEX_HOME: home,
      GATEWAY_API_KEY: 'sk-codex-dummy',
      ...Object.fromEntries(['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'].map((name) => [name, DEAD_PROXY])),
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    }
    // Its own process group, so the deadline kills the binary and whatever it ran, not only the wrapper.
    const child = spawn(process.execPath, [CODEX, ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {} // already gone
    }, options.timeoutMs ?? 90_000)
    const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)))
    clearTimeout(timer)
    let lastMessage = ''
    try {
      lastMessage = readFileSync(lastMessageFile, 'utf8')
    } catch {}
    return { code, stdout, stderr, lastMessage }
  } finally {
    rmSync(home, { recursive: true, force: true })
    rmSync(work, { recursive: true, force: true })
  }
}

/**
 * The configuration a user writes to use the gateway: one custom provider speaking the Responses
 * API. Retries off, so a refused request shows as a failed run instead of five slow attempts.
 */
function configToml({ baseURL, model }: CodexOptions): string {
  return [
    ...(model === undefined ? [] : [`model = ${JSON.stringify(model)}`]),
    'model_provider = "gateway"',
    'approval_policy = "never"',
    'sandbox_mode = "read-only"',
    'check_for_update_on_startup = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[features]',
    'plugins = false',
    '',
    '[model_providers.gateway]',
    'name = "sik-llms-gateway"',
    `base_url = ${JSON.stringify(baseURL)}`,
    'wire_api = "responses"',
    'env_key = "GATEWAY_API_KEY"',
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
  ].join('\n')
}
