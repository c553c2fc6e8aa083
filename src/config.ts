// The gateway's settings, read once from the environment (and the providers file it names), and
// stated once: the schema below lists every variable with its kind and default. Every bad value
// is reported, each naming its variable, and start-up stops; nothing here is read per request.
// Built with zod (see the README's dependency notes): each field is a plain value parsed from a
// string, and the object collects every problem instead of stopping at the first.
import { isIPv4, isIPv6 } from 'node:net'
import { z } from 'zod'
import type { Price } from './pricing/cost.ts'
import { PROVIDERS } from './providers/registry.ts'
import { flag, httpUrl, isHttpUrl, oneOf, Problem, text, variable, wholeNumber } from './config/fields.ts'
import { otelVariables, type ExportedSignals } from './config/otel.ts'
import { readKeysFile, type KeysFile } from './keys/file.ts'
import { DEFAULT_CACHE, readProvidersFile, type CacheConfig, type CompatibleProviderConfig, type RouteGroupConfig } from './config/providers-file.ts'

export type { CacheConfig, CompatibleProviderConfig, RouteGroupConfig, TargetConfig } from './config/providers-file.ts'
export type { ExportedSignals } from './config/otel.ts'

export interface Config {
  port: number
  host: string
  /** Bearer tokens callers must present; empty (and no named keys) means no auth and loopback only. */
  apiKeys: string[]
  /** Named keys: GATEWAY_KEYS_FILE (its path, and its keys as read at start-up) and the admin API's GATEWAY_MASTER_KEY. */
  keys: { file: { path: string; initial: KeysFile } | undefined; masterKey: string | undefined }
  /**
   * Key and base URL of each built-in provider reached with an account, by provider name; its
   * registry entry names the variables (OPENAI_API_KEY, OPENAI_BASE_URL, …) and the default URL.
   */
  accounts: Record<string, { apiKey: string | undefined; baseURL: string }>
  providers: Record<string, CompatibleProviderConfig>
  aliases: Record<string, string>
  priceOverrides: Record<string, Price>
  /** Public model names served by several targets (GATEWAY_CONFIG `routes`). */
  routes: Record<string, RouteGroupConfig>
  /** The response cache (GATEWAY_CONFIG `cache`); its store is Redis when redisUrl is set. */
  cache: CacheConfig
  /** REDIS_URL: the store replicas share (the response cache). Unset: each process keeps its own in memory. */
  redisUrl: string | undefined
  /**
   * REDIS_CACHE_URL: a Redis for the response cache alone (evicting freely), apart from the one
   * holding keys, limits and spend, which must never be evicted; unset: the cache uses REDIS_URL.
   */
  cacheRedisUrl: string | undefined
  /** GATEWAY_LIMITS_ON_REDIS_ERROR: with Redis unreachable, admit unchecked (`serve`, counted) or answer 503 (`refuse`). */
  limitsOnRedisError: 'serve' | 'refuse'
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

/** Every problem found in the configuration, one line each, each naming its variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly problems: string[]

  constructor(problems: string | string[]) {
    const list = typeof problems === 'string' ? [problems] : problems
    super(list.join('; '))
    this.problems = list
  }
}

type Env = Record<string, string | undefined>

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** An http(s) URL template that must hold `{trace_id}`, where the trace id goes. */
function traceUrlTemplate(raw: string): string | Problem {
  if (!raw.includes('{trace_id}')) {
    return new Problem(`must contain {trace_id} where the trace id goes (e.g. http://localhost:16686/trace/{trace_id}), got "${raw}"`)
  }
  return isHttpUrl(raw.replaceAll('{trace_id}', '0af7651916cd43dd8448eb211c80319c'))
    ? raw
    : new Problem(`must be an http(s) URL containing {trace_id}, got "${raw}"`)
}

function commaList(raw: string): string[] {
  return raw.split(',').map((item) => item.trim()).filter(Boolean)
}

/** A redis:// or rediss:// URL (`redis://[:password@]host[:port][/db]`). */
function redisUrl(raw: string): string | Problem {
  try {
    const { protocol, hostname, hash } = new URL(raw)
    // A `#` in a password cuts the URL short (the rest is a fragment): it must be percent-encoded.
    if (hash) return new Problem(`has a # in it: percent-encode it in the password (%23), got "${raw.replace(/\/\/.*@/, '//***@')}"`)
    if ((protocol === 'redis:' || protocol === 'rediss:') && hostname) return raw
  } catch {
    // reported below
  }
  return new Problem(`must be a redis:// or rediss:// URL (e.g. redis://localhost:6379), got "${raw.replace(/\/\/.*@/, '//***@')}"`)
}

/** The password in a Redis URL, a secret like any key. */
function redisPassword(url: string | undefined): string | undefined {
  if (!url) return undefined
  const password = decodeURIComponent(new URL(url).password)
  return password || undefined
}

/** The environment as the gateway reads it; `exported` decides what OTEL_EXPORTER_OTLP_*_PROTOCOL may be. */
function envSchema(env: Env, exported: ExportedSignals) {
  return z.object({
    PORT: wholeNumber(8080, 0, 65535),
    HOST: text,
    GATEWAY_API_KEYS: variable(commaList, []),
    GATEWAY_KEYS_FILE: variable((path) => {
      const file = readKeysFile(path)
      return 'problems' in file ? new Problem(file.problems.map((problem) => `(${path}): ${problem}`)) : { path, initial: file }
    }),
    GATEWAY_MASTER_KEY: variable((key) => (key.length >= 16 ? key : new Problem('must be at least 16 characters (e.g. node src/keys/hash.ts prints a new random key)'))),
    LOG_LEVEL: oneOf(LOG_LEVELS, { anyCase: true }),
    GATEWAY_CONFIG: variable((path) => {
      const file = readProvidersFile(path)
      return 'problems' in file ? new Problem(file.problems.map((problem) => `(${path}): ${problem}`)) : file
    }),
    UPSTREAM_FIRST_BYTE_TIMEOUT_MS: wholeNumber(60_000, 1, 3_600_000),
    UPSTREAM_TOTAL_TIMEOUT_MS: wholeNumber(600_000, 1, 86_400_000),
    UPSTREAM_MAX_RETRIES: wholeNumber(2, 0, 10),
    BODY_LIMIT_BYTES: wholeNumber(10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    REQUEST_TIMEOUT_MS: wholeNumber(60_000, 0, 3_600_000),
    MAX_CONNECTIONS: wholeNumber(10_000, 1, 1_000_000),
    SHUTDOWN_TIMEOUT_MS: wholeNumber(10_000, 0, 600_000),
    DEMO_TOKEN_DELAY_MS: wholeNumber(20, 0, 10_000),
    GATEWAY_TOOLS_CONFIG: text,
    AGENT_TOOL_TIMEOUT_MS: wholeNumber(30_000, 1, 3_600_000),
    TRACE_STORE_MAX_TRACES: wholeNumber(1000, 0, 1_000_000),
    TRACE_STORE_MAX_BYTES: wholeNumber(64 * 1024 * 1024, 64 * 1024, 64 * 1024 * 1024 * 1024),
    TRACE_UI_URL: variable(traceUrlTemplate),
    REDIS_URL: variable(redisUrl),
    REDIS_CACHE_URL: variable(redisUrl),
    GATEWAY_LIMITS_ON_REDIS_ERROR: oneOf(['serve', 'refuse'] as const),
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: flag(false, { digits: true }),
    ...otelVariables(env, exported),
  })
}

/**
 * The built-in providers' variables, from their registry entries: each key, and each base URL with
 * its default. Parsed beside envSchema (their names are data, not keys zod can type); their
 * problems are reported with the others.
 */
function accountSchema() {
  const shape: Record<string, z.ZodType> = {}
  for (const { env } of PROVIDERS) {
    if (!env) continue
    shape[env.apiKey] = text
    shape[env.baseURL] = httpUrl(env.defaultBaseURL)
  }
  return z.object(shape)
}

/** Whether OTEL_SDK_DISABLED turns telemetry off (then no signal is exported, whatever was preloaded). */
function sdkDisabled(env: Env): boolean {
  return text.parse(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true'
}

/**
 * Reads the whole configuration, or throws a ConfigError listing every bad value. `exported`:
 * the signals the gateway will export itself (by default both; main.ts passes what the operator
 * did not preload).
 */
export function loadConfig(env: Env = process.env, exported: ExportedSignals = { traces: true, metrics: true }): Config {
  const parsed = envSchema(env, sdkDisabled(env) ? { traces: false, metrics: false } : exported).safeParse(env)
  const accountVars = accountSchema().safeParse(env)
  if (!parsed.success || !accountVars.success) {
    const issues = [...(parsed.error?.issues ?? []), ...(accountVars.error?.issues ?? [])]
    throw new ConfigError(issues.map((issue) => `${issue.path.map(String).join('.')} ${issue.message}`))
  }
  const vars = parsed.data
  const accounts: Config['accounts'] = {}
  for (const { name, env: names } of PROVIDERS) {
    if (!names) continue
    accounts[name] = { apiKey: accountVars.data[names.apiKey] as string | undefined, baseURL: accountVars.data[names.baseURL] as string }
  }
  const file = vars.GATEWAY_CONFIG ?? { providers: {}, aliases: {}, priceOverrides: {}, routes: {}, cache: DEFAULT_CACHE }
  // A provider's key is a secret like any other; the file names only its variable.
  const fileKeys = Object.values(file.providers).map((provider) => text.parse(provider.apiKeyEnv && env[provider.apiKeyEnv]))
  const apiKeys = vars.GATEWAY_API_KEYS
  const keys = { file: vars.GATEWAY_KEYS_FILE, masterKey: vars.GATEWAY_MASTER_KEY }
  return {
    port: vars.PORT,
    host: vars.HOST ?? (requiresKeys({ apiKeys, keys }) ? '0.0.0.0' : '127.0.0.1'),
    apiKeys,
    keys,
    accounts,
    providers: file.providers,
    aliases: file.aliases,
    priceOverrides: file.priceOverrides,
    routes: file.routes,
    cache: file.cache,
    redisUrl: vars.REDIS_URL,
    cacheRedisUrl: vars.REDIS_CACHE_URL ?? vars.REDIS_URL,
    limitsOnRedisError: vars.GATEWAY_LIMITS_ON_REDIS_ERROR ?? 'serve',
    upstream: {
      firstByteTimeoutMs: vars.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      totalTimeoutMs: vars.UPSTREAM_TOTAL_TIMEOUT_MS,
      maxRetries: vars.UPSTREAM_MAX_RETRIES,
    },
    bodyLimitBytes: vars.BODY_LIMIT_BYTES,
    http: { requestTimeoutMs: vars.REQUEST_TIMEOUT_MS, maxConnections: vars.MAX_CONNECTIONS },
    shutdownTimeoutMs: vars.SHUTDOWN_TIMEOUT_MS,
    logLevel: vars.LOG_LEVEL ?? 'info',
    captureContent: vars.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
    demo: { tokenDelayMs: vars.DEMO_TOKEN_DELAY_MS },
    agent: { toolsConfigPath: vars.GATEWAY_TOOLS_CONFIG, toolTimeoutMs: vars.AGENT_TOOL_TIMEOUT_MS },
    traceStore: { maxTraces: vars.TRACE_STORE_MAX_TRACES, maxBytes: vars.TRACE_STORE_MAX_BYTES },
    traceUiUrl: vars.TRACE_UI_URL,
    secrets: [...apiKeys, keys.masterKey, ...Object.values(accounts).map((account) => account.apiKey), ...fileKeys, redisPassword(vars.REDIS_URL), redisPassword(vars.REDIS_CACHE_URL)].filter(
      (s): s is string => !!s,
    ),
  }
}

/** Whether callers must present a key: GATEWAY_API_KEYS, GATEWAY_KEYS_FILE or GATEWAY_MASTER_KEY is set. */
export function requiresKeys(config: Pick<Config, 'apiKeys' | 'keys'>): boolean {
  return config.apiKeys.length > 0 || config.keys.file !== undefined || config.keys.masterKey !== undefined
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
