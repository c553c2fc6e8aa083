// The agent's tools config: the JSON file named by GATEWAY_TOOLS_CONFIG, read once at start.
// Its `mcpServers` object has the shape of Claude Desktop's config, so an existing one can be
// pasted in: a server is either started as a child process (`command`, stdio) or reached over
// Streamable HTTP (`url`). Any problem stops start-up with a ConfigError naming the file and field.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ConfigError } from '../config.ts'

export interface StdioServerConfig {
  transport: 'stdio'
  command: string
  args: string[]
  /**
   * Added to a minimal inherited environment: the MCP SDK's (HOME, PATH, SHELL, TERM, USER,
   * LOGNAME) and the gateway's own proxy and CA variables (INHERITED_NETWORK_ENV).
   */
  env: Record<string, string>
  /** Absolute (a relative `cwd` in the file is resolved against the file's directory). */
  cwd?: string
  /** Timeout of each tool call to this server; defaults to the file's `toolTimeoutMs`. */
  timeoutMs: number
  /** Deadline for connecting and listing the tools (all pages), at start and on each restart. */
  startTimeoutMs: number
}

export interface HttpServerConfig {
  transport: 'http'
  url: string
  headers: Record<string, string>
  timeoutMs: number
  startTimeoutMs: number
}

export type McpServerConfig = StdioServerConfig | HttpServerConfig

export interface ToolsConfig {
  /** The file it was read from, for messages. */
  path: string
  /** Servers in file order; `disabled: true` entries are left out. */
  mcpServers: Record<string, McpServerConfig>
  toolTimeoutMs: number
  /** Values substituted for `${VAR}` references (env, headers): secrets to scrub from output. */
  secrets: string[]
}

/**
 * Passed on from the gateway's environment to every stdio server, besides the MCP SDK's few:
 * without them an `npx` server behind a proxy or a private CA cannot fetch its package and
 * hangs until its start times out. A server's own `env` entry overrides them.
 */
export const INHERITED_NETWORK_ENV = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
] as const

export const SERVER_NAME = /^[a-zA-Z0-9_-]{1,32}$/
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000
export const DEFAULT_START_TIMEOUT_MS = 15_000
const MAX_TIMEOUT_MS = 3_600_000

type Env = Record<string, string | undefined>

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Reads and validates the tools config file. `${VAR}` in `env` and `headers` values is replaced
 * by the gateway's environment variable VAR (an unset variable is an error).
 */
export function loadToolsConfig(path: string, env: Env = process.env): ToolsConfig {
  const where = `GATEWAY_TOOLS_CONFIG (${path})`
  const fail = (message: string): never => {
    throw new ConfigError(`${where}: ${message}`)
  }
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`${where} could not be read: ${(error as Error).message}`)
  }
  let file: unknown
  try {
    file = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${where} is not valid JSON: ${(error as Error).message}`)
  }
  if (!isObject(file)) fail('must hold a JSON object')
  const root = file as Record<string, unknown>
  const secrets: string[] = []

  const timeout = (value: unknown, field: string, fallback: number): number => {
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
      fail(`${field} must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${JSON.stringify(value)}`)
    }
    return value as number
  }
  const stringMap = (value: unknown, field: string, expand: boolean): Record<string, string> => {
    if (value === undefined) return {}
    if (!isObject(value)) return fail(`${field} must be an object of strings`)
    const out: Record<string, string> = {}
    for (const [key, raw] of Object.entries(value)) {
      if (typeof raw !== 'string') fail(`${field}.${key} must be a string`)
      out[key] = expand ? substitute(raw as string, `${field}.${key}`) : (raw as string)
    }
    return out
  }
  const substitute = (raw: string, field: string): string =>
    raw.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`${field} has an invalid reference \${${name}}`)
      const value = env[name]
      if (value === undefined) fail(`${field} references \${${name}}, which is not set in the gateway's environment`)
      if (value !== '') secrets.push(value as string)
      return value as string
    })

  const toolTimeoutMs = timeout(root.toolTimeoutMs, 'toolTimeoutMs', DEFAULT_TOOL_TIMEOUT_MS)
  const servers = root.mcpServers ?? {}
  if (!isObject(servers)) fail('mcpServers must be an object of servers by name')

  const mcpServers: Record<string, McpServerConfig> = {}
  for (const [name, entry] of Object.entries(servers as Record<string, unknown>)) {
    const field = `mcpServers.${name}`
    if (!SERVER_NAME.test(name)) {
      fail(`server name "${name}" must be 1 to 32 letters, digits, _ or - (it prefixes the tool names: <server>__<tool>)`)
    }
    if (!isObject(entry)) return fail(`${field} must be an object`)
    if (entry.disabled !== undefined && typeof entry.disabled !== 'boolean') fail(`${field}.disabled must be true or false`)
    if (entry.disabled === true) continue
    const hasCommand = entry.command !== undefined
    const hasUrl = entry.url !== undefined
    if (hasCommand && hasUrl) fail(`${field} has both command and url: give command (stdio) or url (Streamable HTTP), not both`)
    if (!hasCommand && !hasUrl) fail(`${field} needs either command (a stdio server to start) or url (a Streamable HTTP server)`)
    const type = entry.type ?? entry.transport
    if (type !== undefined) {
      const ok = hasCommand ? type === 'stdio' : type === 'http' || type === 'streamable-http' || type === 'streamableHttp'
      if (!ok) {
        fail(`${field}.type ${JSON.stringify(type)} is not supported with ${hasCommand ? 'command' : 'url'} (only stdio and Streamable HTTP servers are; SSE is not)`)
      }
    }
    const timeoutMs = timeout(entry.timeoutMs, `${field}.timeoutMs`, toolTimeoutMs)
    const startTimeoutMs = timeout(entry.startTimeoutMs, `${field}.startTimeoutMs`, DEFAULT_START_TIMEOUT_MS)
    if (hasCommand) {
      if (typeof entry.command !== 'string' || entry.command.trim() === '') fail(`${field}.command must be a non-empty string`)
      const args = entry.args ?? []
      if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) fail(`${field}.args must be an array of strings`)
      if (entry.cwd !== undefined && (typeof entry.cwd !== 'string' || entry.cwd === '')) fail(`${field}.cwd must be a non-empty string`)
      if (entry.headers !== undefined) fail(`${field}.headers only applies to url servers; a stdio server takes env`)
      const config: StdioServerConfig = {
        transport: 'stdio',
        command: entry.command as string,
        args: args as string[],
        env: stringMap(entry.env, `${field}.env`, true),
        timeoutMs,
        startTimeoutMs,
      }
      if (typeof entry.cwd === 'string') config.cwd = resolve(dirname(resolve(path)), entry.cwd)
      mcpServers[name] = config
    } else {
      if (typeof entry.url !== 'string') return fail(`${field}.url must be a string`)
      let parsed: URL
      try {
        parsed = new URL(entry.url)
      } catch {
        return fail(`${field}.url must be an http(s) URL, got "${entry.url}"`)
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(`${field}.url must be an http(s) URL, got "${entry.url}"`)
      for (const key of ['args', 'env', 'cwd']) {
        if (entry[key] !== undefined) fail(`${field}.${key} only applies to command servers; a url server takes headers`)
      }
      mcpServers[name] = {
        transport: 'http',
        url: entry.url,
        headers: stringMap(entry.headers, `${field}.headers`, true),
        timeoutMs,
        startTimeoutMs,
      }
    }
  }
  return { path, mcpServers, toolTimeoutMs, secrets }
}
