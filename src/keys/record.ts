// A named key as the gateway keeps it (the keys file, the admin store): what it may do and the
// digest of its secret, never the secret. The schema of its fields is stated once here, for the
// keys file and the admin API's create alike: every bad field is named by its path.
import { z } from 'zod'
import { HASH_PREFIX } from './hash.ts'
import type { Budgets, Principal } from './principal.ts'

export interface KeyRecord {
  /** `key_…`: the handle of the admin API, the stores and the telemetry; not a secret. */
  id: string
  name: string
  team?: string | undefined
  metadata?: Record<string, string> | undefined
  models?: string[] | undefined
  limits?: Principal['limits']
  budgets?: Budgets | undefined
  revoked?: boolean | undefined
  /** The SHA-256 of the secret, hex. */
  digest: string
  /** When the admin API created it (ISO 8601); absent for the keys file's. */
  createdAt?: string | undefined
}

/** A team's settings (the keys file's `teams`). */
export interface TeamSettings {
  budgets?: Budgets | undefined
}

export const KEY_ID = /^key_[A-Za-z0-9_-]{1,64}$/

const perMinute = z.number({ error: 'must be a whole number ≥ 1 (per minute)' }).int({ error: 'must be a whole number ≥ 1 (per minute)' }).min(1, { error: 'must be a whole number ≥ 1 (per minute)' })
const usd = z.number({ error: 'must be a number ≥ 0 (USD)' }).min(0, { error: 'must be a number ≥ 0 (USD)' })

/**
 * An object whose unknown fields are refused: a misspelt `requestsPerMinuet` must not turn a
 * limit off in silence. `note` goes before the known fields in the message.
 */
export function strict<Shape extends z.core.$ZodLooseShape>(shape: Shape, what: string, note = '') {
  const known = Object.keys(shape).join(', ')
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `has unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((key) => `"${key}"`).join(', ')} (${note}known: ${known})`
        : `must be ${what}`,
  })
}

const rateLimits = strict({ requestsPerMinute: perMinute.optional(), tokensPerMinute: perMinute.optional() }, 'an object {requestsPerMinute?, tokensPerMinute?}')

export const budgetsSchema = strict({ dailyUsd: usd.optional(), monthlyUsd: usd.optional() }, 'an object {dailyUsd?, monthlyUsd?}')

/** What a key may do and who it is: the fields an operator writes (file) or sends (admin API). */
export const keyFields = {
  name: z.string({ error: 'must be a non-empty string' }).min(1, { error: 'must be a non-empty string' }).max(200, { error: 'must be at most 200 characters' }),
  team: z.string({ error: 'must be a non-empty string' }).min(1, { error: 'must be a non-empty string' }).max(200, { error: 'must be at most 200 characters' }).optional(),
  metadata: z.record(z.string(), z.string({ error: 'must be a string' }), { error: 'must be an object of strings' }).optional(),
  models: z.array(z.string().min(1, { error: 'must be a model name' }), { error: 'must be an array of model names' }).optional(),
  limits: strict(
    { requestsPerMinute: perMinute.optional(), tokensPerMinute: perMinute.optional(), models: z.record(z.string(), rateLimits, { error: 'must be an object of per-model limits' }).optional() },
    'an object {requestsPerMinute?, tokensPerMinute?, models?}',
  ).optional(),
  budgets: budgetsSchema.optional(),
}

/** `sha256:` and 64 hex digits. */
export const hashField = z
  .string({ error: 'must be "sha256:<64 hex digits>" (node src/keys/hash.ts <secret>)' })
  .regex(/^sha256:[0-9a-fA-F]{64}$/, { error: 'must be "sha256:<64 hex digits>" (node src/keys/hash.ts <secret>)' })
  .transform((hash) => hash.slice(HASH_PREFIX.length).toLowerCase())

/** `issue.path` and message, as one line. */
export function problemOf(issue: z.core.$ZodIssue, prefix: (string | number)[] = []): string {
  const path = [...prefix, ...issue.path].map(String).join('.')
  return path ? `${path} ${issue.message}` : issue.message
}

/** Who a request with this key is (the team's budgets from `teams`). Never the digest. */
export function principalOf(record: KeyRecord, teams: Record<string, TeamSettings> = {}): Principal {
  const teamBudgets = record.team !== undefined ? teams[record.team]?.budgets : undefined
  return Object.freeze({
    kind: 'named' as const,
    id: record.id,
    name: record.name,
    team: record.team,
    metadata: record.metadata,
    models: record.models,
    limits: record.limits,
    budgets: record.budgets,
    teamBudgets,
  })
}

/** A record as the admin API shows it: no digest (a hash is still a key's fingerprint). */
export function publicView(record: KeyRecord): Omit<KeyRecord, 'digest'> {
  const { digest: _digest, ...shown } = record
  return { ...shown, revoked: record.revoked === true }
}
