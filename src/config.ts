// The gateway's settings, read once from the environment (and the providers file it names).
// A bad value stops start-up with a message naming the variable; nothing here is read per request.
import { readFileSync } from 'node:fs'
import { isIPv4, isIPv6 } from 'node:net'
import type { Price } from './pricing/cost.ts'

export interface CompatibleProviderConfig {
  /** OpenAI-compatible base URL, ending in /v1 as the OpenAI SDK expects. */
  baseURL: string
  /** Name of the environment variable holding its key (keys never live in the file). */
  apiKeyEnv?: string
  /** Model ids listed by GET /v1/models; any model id is forwarded either way. */
  models: string[]
}

export interface Config {
  port: number
  host: string
  /** Bearer tokens callers must present; empty means no auth and loopback only. */
  apiKeys: string[]
  openai: { apiKey: string | undefined; baseURL: string }
  anthropic: { apiKey: string | undefined; baseURL: string }
  providers: Record<string, CompatibleProviderConfig>
  aliases: Record<string, string>
  priceOverrides: Record<string, Price>
  upstream: { firstByteTimeoutMs: number; totalTimeoutMs: number; maxRetries: number }
  bodyLimitBytes: number
  /**
   * Limits on what callers send, not on what the gateway answers: a request (headers and body)
   * must arrive within requestTimeoutMs (0: no limit), while a streamed answer may run for minutes.
   */
  http: { requestTimeoutMs: number; maxConnections: number }
  shutdownTimeoutMs: number
  logLevel: string
  captureContent: boolean
  demo: { tokenDelayMs: number }
  agent: {
    /** JSON file listing MCP servers (GATEWAY_TOOLS_CONFIG); none: built-in tools only. */
    toolsConfigPath: string | undefined
    toolTimeoutMs: number
  }
  /** Recent traces kept in memory for GET /v1/traces/{id} and /traces; maxTraces 0 turns it off. */
  traceStore: { maxTraces: number; maxBytes: number }
  /** Trace UI address with `{trace_id}` in it (e.g. Jaeger's): every answer links to its trace. */
  traceUiUrl: string | undefined
  /** Every secret the gateway holds, so it can be scrubbed from anything passed on. */
  secrets: string[]
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

function str(env: Env, name: string): string | undefined {
  const value = env[name]?.trim()
  return value === '' ? undefined : value
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`)
  }
  return value
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name)?.toLowerCase()
  if (raw === undefined) return fallback
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

function url(env: Env, name: string, fallback: string): string {
  const raw = str(env, name) ?? fallback
  try {
    const parsed = new URL(raw)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme')
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`)
  }
  return raw.replace(/\/+$/, '')
}

/** An http(s) URL template that must hold `{trace_id}`, where the trace id goes. */
function traceUrlTemplate(env: Env, name: string): string | undefined {
  const raw = str(env, name)
  if (raw === undefined) return undefined
  if (!raw.includes('{trace_id}')) {
    throw new ConfigError(`${name} must contain {trace_id} where the trace id goes (e.g. http://localhost:16686/trace/{trace_id}), got "${raw}"`)
  }
  try {
    url({ [name]: raw.replaceAll('{trace_id}', '0af7651916cd43dd8448eb211c80319c') }, name, '')
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL containing {trace_id}, got "${raw}"`)
  }
  return raw
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

interface ProvidersFile {
  providers?: Record<string, { baseURL?: unknown; apiKeyEnv?: unknown; models?: unknown }>
  aliases?: Record<string, unknown>
  prices?: Record<string, Price>
}

const PROVIDER_NAME = /^[a-z][a-z0-9_-]*$/
const BUILT_IN = new Set(['openai', 'anthropic', 'demo'])

function readProvidersFile(path: string, env: Env): Pick<Config, 'providers' | 'aliases' | 'priceOverrides'> & { keys: string[] } {
  const where = `GATEWAY_CONFIG (${path})`
  let file: ProvidersFile
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as ProvidersFile
  } catch (error) {
    throw new ConfigError(`${where} could not be read as JSON: ${(error as Error).message}`)
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) {
    throw new ConfigError(`${where} must hold a JSON object`)
  }
  const providers: Record<string, CompatibleProviderConfig> = {}
  const keys: string[] = []
  for (const [name, entry] of Object.entries(file.providers ?? {})) {
    if (!PROVIDER_NAME.test(name) || BUILT_IN.has(name)) {
      throw new ConfigError(`${where}: provider name "${name}" must be lowercase letters, digits, _ or - and not a built-in provider`)
    }
    if (typeof entry.baseURL !== 'string') throw new ConfigError(`${where}: providers.${name}.baseURL is required`)
    const baseURL = url({ [`providers.${name}.baseURL`]: entry.baseURL }, `providers.${name}.baseURL`, '')
    const apiKeyEnv = entry.apiKeyEnv === undefined ? undefined : String(entry.apiKeyEnv)
    if (apiKeyEnv) {
      const key = str(env, apiKeyEnv)
      if (key) keys.push(key)
    }
    const models = Array.isArray(entry.models) ? entry.models.map(String) : []
    providers[name] = apiKeyEnv === undefined ? { baseURL, models } : { baseURL, apiKeyEnv, models }
  }
  const aliases: Record<string, string> = {}
  for (const [alias, target] of Object.entries(file.aliases ?? {})) {
    if (typeof target !== 'string' || target === '') throw new ConfigError(`${where}: aliases.${alias} must be a model name`)
    aliases[alias] = target
  }
  const priceOverrides: Record<string, Price> = {}
  for (const [model, price] of Object.entries(file.prices ?? {})) {
    for (const field of ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h'] as const) {
      const value = (price as Record<string, unknown>)[field]
      const required = field === 'input' || field === 'output'
      if ((required || value !== undefined) && (typeof value !== 'number' || !(value >= 0))) {
        throw new ConfigError(`${where}: prices["${model}"].${field} must be a number ≥ 0 (USD per million tokens)`)
      }
    }
    priceOverrides[model] = price
  }
  return { providers, aliases, priceOverrides, keys }
}

export function loadConfig(env: Env = process.env): Config {
  const apiKeys = (str(env, 'GATEWAY_API_KEYS') ?? '').split(',').map((k) => k.trim()).filter(Boolean)
  const logLevel = (str(env, 'LOG_LEVEL') ?? 'info').toLowerCase()
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  const configPath = str(env, 'GATEWAY_CONFIG')
  const file = configPath
    ? readProvidersFile(configPath, env)
    : { providers: {}, aliases: {}, priceOverrides: {}, keys: [] }
  const openaiKey = str(env, 'OPENAI_API_KEY')
  const anthropicKey = str(env, 'ANTHROPIC_API_KEY')
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    host: str(env, 'HOST') ?? (apiKeys.length > 0 ? '0.0.0.0' : '127.0.0.1'),
    apiKeys,
    openai: { apiKey: openaiKey, baseURL: url(env, 'OPENAI_BASE_URL', 'https://api.openai.com/v1') },
    anthropic: { apiKey: anthropicKey, baseURL: url(env, 'ANTHROPIC_BASE_URL', 'https://api.anthropic.com') },
    providers: file.providers,
    aliases: file.aliases,
    priceOverrides: file.priceOverrides,
    upstream: {
      firstByteTimeoutMs: int(env, 'UPSTREAM_FIRST_BYTE_TIMEOUT_MS', 60_000, 1, 3_600_000),
      totalTimeoutMs: int(env, 'UPSTREAM_TOTAL_TIMEOUT_MS', 600_000, 1, 86_400_000),
      maxRetries: int(env, 'UPSTREAM_MAX_RETRIES', 2, 0, 10),
    },
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    http: {
      requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 60_000, 0, 3_600_000),
      maxConnections: int(env, 'MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    },
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    logLevel,
    captureContent: bool(env, 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT', false),
    demo: { tokenDelayMs: int(env, 'DEMO_TOKEN_DELAY_MS', 20, 0, 10_000) },
    agent: {
      toolsConfigPath: str(env, 'GATEWAY_TOOLS_CONFIG'),
      toolTimeoutMs: int(env, 'AGENT_TOOL_TIMEOUT_MS', 30_000, 1, 3_600_000),
    },
    traceStore: {
      maxTraces: int(env, 'TRACE_STORE_MAX_TRACES', 1000, 0, 1_000_000),
      maxBytes: int(env, 'TRACE_STORE_MAX_BYTES', 64 * 1024 * 1024, 64 * 1024, 64 * 1024 * 1024 * 1024),
    },
    traceUiUrl: traceUrlTemplate(env, 'TRACE_UI_URL'),
    secrets: [...apiKeys, openaiKey, anthropicKey, ...file.keys].filter((s): s is string => !!s),
  }
}

/**
 * Whether HOST names only this machine: `localhost`, `::1` or an IPv4 address in 127.0.0.0/8.
 * A name such as `127.example.com` is not an address, whatever it starts with.
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (bare === 'localhost') return true
  if (isIPv4(bare)) return bare.startsWith('127.')
  return isIPv6(bare) && (bare === '::1' || bare === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(bare))
}
