// The file GATEWAY_CONFIG names: more providers (OpenAI-compatible servers, more accounts of a
// built-in one), model aliases, price overrides, route groups (one public model name served by
// several targets) and the response cache. Its schema reports every bad field, each by its path in
// the file, beside the bad variables.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import type { Price } from '../pricing/cost.ts'
import { PROVIDERS } from '../providers/registry.ts'
import { isHttpUrl } from './fields.ts'

export interface CompatibleProviderConfig {
  /**
   * `openai-compatible` (the default): any server speaking OpenAI's chat API. A built-in
   * provider's name (`openai`, `anthropic`): another account of it, with its own key and base URL,
   * its APIs, traits and prices.
   */
  type: string
  /** Base URL; an OpenAI-compatible one ends in /v1 as the OpenAI SDK expects. */
  baseURL: string
  /** Name of the environment variable holding its key (keys never live in the file). */
  apiKeyEnv?: string
  /** Model ids listed by GET /v1/models; any model id is forwarded either way. */
  models: string[]
}

/** One upstream of a route group: a provider and the model id it is sent. */
export interface TargetConfig {
  provider: string
  model: string
  /** Share of a `loadbalance` group's calls picked first (relative to the others' weights). */
  weight: number
  /** Serves only calls an earlier target refused for their length (context window too small). */
  contextFallback: boolean
}

export interface RouteGroupConfig {
  /** `fallback`: targets in order. `loadbalance`: one picked by weight, then the rest in order. */
  strategy: 'fallback' | 'loadbalance'
  targets: TargetConfig[]
  /** Most upstream attempts of one call, retries included (default: one per target). */
  maxAttempts?: number | undefined
  /** The whole call's limit, stream included (default UPSTREAM_TOTAL_TIMEOUT_MS). */
  timeoutMs?: number | undefined
  /** How long an attempt may wait for the upstream's answer to begin before the next target is tried. */
  firstByteTimeoutMs?: number | undefined
  /** Tries of the same target after its first, with backoff, before the next target (default 0). */
  retries: number
  /** A target failing `failures` times within `windowMs` is skipped for `cooldownMs`, then probed. */
  cooldown: { failures: number; windowMs: number; cooldownMs: number }
  /** The response cache for this group: its TTL, or false to keep a global cache off it. */
  cache?: { ttlSeconds: number } | false | undefined
}

export interface CacheConfig {
  /** Set: every model's answers are cached this long (route groups may opt out). Unset: only groups that opt in. */
  ttlSeconds?: number | undefined
  /** The in-memory store's bound (REDIS_URL unset). */
  maxBytes: number
  /** Answers longer than this (as stored) are not cached. */
  maxEntryBytes: number
}

export interface ProvidersFile {
  providers: Record<string, CompatibleProviderConfig>
  aliases: Record<string, string>
  priceOverrides: Record<string, Price>
  routes: Record<string, RouteGroupConfig>
  cache: CacheConfig
}

export const DEFAULT_CACHE: CacheConfig = { ttlSeconds: undefined, maxBytes: 64 * 1024 * 1024, maxEntryBytes: 4 * 1024 * 1024 }

const PROVIDER_NAME = /^[a-z][a-z0-9_-]*$/
const BUILT_IN = new Set(PROVIDERS.map((entry) => entry.name))
/** Built-in providers reached with an account: a file provider of their `type` is another account. */
const ACCOUNT_TYPES = PROVIDERS.filter((entry) => entry.env).map((entry) => entry.name)

const providerName = z.string().refine((name) => PROVIDER_NAME.test(name) && !BUILT_IN.has(name), {
  error: (issue) => `provider name "${String(issue.input)}" must be lowercase letters, digits, _ or - and not a built-in provider`,
})

const provider = z.object({
  type: z
    .enum(['openai-compatible', ...ACCOUNT_TYPES], { error: `must be one of openai-compatible, ${ACCOUNT_TYPES.join(', ')}` })
    .default('openai-compatible'),
  baseURL: z
    .string({ error: 'must be an http(s) URL' })
    .refine(isHttpUrl, { error: (issue) => `must be an http(s) URL, got "${String(issue.input)}"` })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  apiKeyEnv: z.string({ error: 'must be the name of an environment variable' }).optional(),
  models: z.array(z.string(), { error: 'must be an array of model ids' }).default([]),
}).refine((settings) => settings.type !== 'openai-compatible' || settings.baseURL !== undefined, {
  path: ['baseURL'],
  error: 'is required (an http(s) URL)',
})

/** USD per million tokens: a number ≥ 0; input and output are required. */
const rate = z.number({ error: 'must be a number ≥ 0 (USD per million tokens)' }).min(0, { error: 'must be a number ≥ 0 (USD per million tokens)' })

const price = z.object({
  input: rate,
  output: rate,
  cacheRead: rate.optional(),
  cacheWrite: rate.optional(),
  cacheWrite1h: rate.optional(),
})

const whole = (min: number, max: number, what = 'a whole number') =>
  z.number({ error: `must be ${what} from ${min} to ${max}` }).int({ error: `must be ${what} from ${min} to ${max}` }).min(min, { error: `must be ${what} from ${min} to ${max}` }).max(max, { error: `must be ${what} from ${min} to ${max}` })

/**
 * An object of the route-group part of the file whose unknown keys are refused: a misspelt
 * `wieght` or `stratgy` would otherwise be dropped and its default used without a word.
 */
function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape, what: string) {
  const known = Object.keys(shape).join(', ')
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `has unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((key) => `"${key}"`).join(', ')} (known: ${known})`
        : `must be ${what}`,
  })
}

const target = strictObject({
  provider: z.string({ error: 'must name a provider' }).min(1, { error: 'must name a provider' }),
  model: z.string({ error: 'must be the upstream model id' }).min(1, { error: 'must be the upstream model id' }),
  weight: z.number({ error: 'must be a number > 0' }).positive({ error: 'must be a number > 0' }).default(1),
  contextFallback: z.boolean({ error: 'must be true or false' }).default(false),
}, 'an object {provider, model, weight?, contextFallback?}')

const MINUTE = 60_000
const routeGroup = strictObject({
  strategy: z.enum(['fallback', 'loadbalance'], { error: 'must be fallback or loadbalance' }).default('fallback'),
  targets: z
    .array(target, { error: 'must be an array of {provider, model}' })
    .min(1, { error: 'must list at least one target' })
    // (No target at all is named by min(1) alone.)
    .refine((targets) => targets.length === 0 || targets.some((t) => !t.contextFallback), {
      error: 'must hold a target without contextFallback (those serve only calls another target refused for length)',
    }),
  maxAttempts: whole(1, 50).optional(),
  timeoutMs: whole(1, 86_400_000).optional(),
  firstByteTimeoutMs: whole(1, 3_600_000).optional(),
  retries: whole(0, 10).default(0),
  cooldown: strictObject(
    {
      failures: whole(1, 1000).default(3),
      windowMs: whole(1, 24 * 60 * MINUTE).default(MINUTE),
      cooldownMs: whole(1, 24 * 60 * MINUTE).default(30_000),
    },
    'an object {failures, windowMs, cooldownMs}',
  ).default({ failures: 3, windowMs: MINUTE, cooldownMs: 30_000 }),
  cache: z.union([z.literal(false), strictObject({ ttlSeconds: whole(1, 365 * 86_400) }, 'false or {"ttlSeconds": n}')], { error: 'must be false or {"ttlSeconds": n}' }).optional(),
}, 'an object {strategy?, targets, …}')

const cache = strictObject(
  {
    ttlSeconds: whole(1, 365 * 86_400).optional(),
    maxBytes: whole(0, 64 * 1024 * 1024 * 1024).default(DEFAULT_CACHE.maxBytes),
    maxEntryBytes: whole(1, 512 * 1024 * 1024).default(DEFAULT_CACHE.maxEntryBytes),
  },
  'an object {ttlSeconds?, maxBytes?, maxEntryBytes?}',
).default(DEFAULT_CACHE)

/** A group's name is a public model name: no blanks, no empty part between slashes. */
const GROUP_NAME = /^[^\s/]+(\/[^\s/]+)*$/
const groupName = z.string().refine((name) => GROUP_NAME.test(name), {
  error: (issue) => `route group name "${String(issue.input)}" must be a model name: no spaces, no empty part between slashes`,
})

const fileSchema = z
  .object(
    {
      providers: z.record(providerName, provider).default({}),
      aliases: z.record(z.string(), z.string().min(1, { error: 'must be a model name' }), { error: 'must be an object' }).default({}),
      prices: z.record(z.string(), price, { error: 'must be an object' }).default({}),
      routes: z.record(groupName, routeGroup, { error: 'must be an object of route groups' }).default({}),
      cache,
    },
    { error: 'must hold a JSON object' },
  )

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * What only the whole file can tell: every target names a provider the gateway has, and a
 * group's name is not also an alias. Read from the raw JSON, so that these are named beside the
 * schema's problems (a refinement of the parsed file would wait until those are fixed).
 */
function crossProblems(json: unknown): string[] {
  const file = isObject(json) ? json : {}
  const providers = isObject(file.providers) ? Object.keys(file.providers) : []
  const aliases = isObject(file.aliases) ? file.aliases : {}
  const routes = isObject(file.routes) ? file.routes : {}
  const problems: string[] = []
  for (const [name, group] of Object.entries(routes)) {
    if (Object.hasOwn(aliases, name)) problems.push(`routes.${name} is also an alias: a model name means one thing`)
    const targets = isObject(group) && Array.isArray(group.targets) ? group.targets : []
    targets.forEach((t: unknown, index) => {
      if (!isObject(t) || typeof t.provider !== 'string' || t.provider === '') return
      if (BUILT_IN.has(t.provider) || providers.includes(t.provider)) return
      problems.push(`routes.${name}.targets.${index}.provider names no provider: "${t.provider}" (known: ${[...BUILT_IN, ...providers].join(', ')})`)
    })
  }
  return problems
}

/** The file read and checked; a list of problems, each naming where in the file, when it is bad. */
export function readProvidersFile(path: string): ProvidersFile | { problems: string[] } {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    return { problems: [`could not be read as JSON: ${(error as Error).message}`] }
  }
  const parsed = fileSchema.safeParse(json)
  const problems = [
    ...(parsed.error?.issues.map((issue) => {
      // A bad key's own message names it (the provider name rule).
      if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message
      return issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')} ${issue.message}`
    }) ?? []),
    ...crossProblems(json),
  ]
  if (!parsed.success || problems.length > 0) return { problems }
  const { aliases, prices, routes, cache } = parsed.data
  // Another account of a built-in provider goes to its default URL unless the file says otherwise.
  const providers: Record<string, CompatibleProviderConfig> = {}
  for (const [name, settings] of Object.entries(parsed.data.providers)) {
    const entry = PROVIDERS.find((e) => e.name === settings.type)
    providers[name] = { ...settings, baseURL: settings.baseURL ?? entry?.env?.defaultBaseURL ?? '' }
  }
  return { providers, aliases, priceOverrides: prices, routes, cache }
}
