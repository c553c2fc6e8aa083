// The file GATEWAY_CONFIG names: OpenAI-compatible providers, model aliases and price overrides.
// Its schema reports every bad field, each by its path in the file, beside the bad variables.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import type { Price } from '../pricing/cost.ts'
import { PROVIDERS } from '../providers/registry.ts'
import { isHttpUrl } from './fields.ts'

export interface CompatibleProviderConfig {
  /** OpenAI-compatible base URL, ending in /v1 as the OpenAI SDK expects. */
  baseURL: string
  /** Name of the environment variable holding its key (keys never live in the file). */
  apiKeyEnv?: string
  /** Model ids listed by GET /v1/models; any model id is forwarded either way. */
  models: string[]
}

export interface ProvidersFile {
  providers: Record<string, CompatibleProviderConfig>
  aliases: Record<string, string>
  priceOverrides: Record<string, Price>
}

const PROVIDER_NAME = /^[a-z][a-z0-9_-]*$/
const BUILT_IN = new Set(PROVIDERS.map((entry) => entry.name))

const providerName = z.string().refine((name) => PROVIDER_NAME.test(name) && !BUILT_IN.has(name), {
  error: (issue) => `provider name "${String(issue.input)}" must be lowercase letters, digits, _ or - and not a built-in provider`,
})

const provider = z.object({
  baseURL: z
    .string({ error: 'is required (an http(s) URL)' })
    .refine(isHttpUrl, { error: (issue) => `must be an http(s) URL, got "${String(issue.input)}"` })
    .transform((url) => url.replace(/\/+$/, '')),
  apiKeyEnv: z.string({ error: 'must be the name of an environment variable' }).optional(),
  models: z.array(z.string(), { error: 'must be an array of model ids' }).default([]),
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

const fileSchema = z.object(
  {
    providers: z.record(providerName, provider).default({}),
    aliases: z.record(z.string(), z.string().min(1, { error: 'must be a model name' }), { error: 'must be an object' }).default({}),
    prices: z.record(z.string(), price, { error: 'must be an object' }).default({}),
  },
  { error: 'must hold a JSON object' },
)

/** The file read and checked; a list of problems, each naming where in the file, when it is bad. */
export function readProvidersFile(path: string): ProvidersFile | { problems: string[] } {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    return { problems: [`could not be read as JSON: ${(error as Error).message}`] }
  }
  const parsed = fileSchema.safeParse(json)
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => {
        // A bad key's own message names it (the provider name rule).
        if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message
        return issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')} ${issue.message}`
      }),
    }
  }
  const { providers, aliases, prices } = parsed.data
  return { providers, aliases, priceOverrides: prices }
}
