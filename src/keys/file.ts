// The keys file (GATEWAY_KEYS_FILE): named keys, stored hashed, and the teams' budgets. Read at
// start-up (a bad file stops it, every problem named by its path) and again whenever it changes
// (see file-watch.ts).
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { budgetsSchema, hashField, KEY_ID, keyFields, problemOf, strict, type KeyRecord, type TeamSettings } from './record.ts'

export interface KeysFile {
  keys: KeyRecord[]
  teams: Record<string, TeamSettings>
}

const entry = strict(
  {
    id: z.string({ error: 'must be an id such as "key_alice"' }).regex(KEY_ID, { error: 'must be "key_" and letters, digits, _ or - (e.g. "key_alice")' }),
    hash: hashField,
    revoked: z.boolean({ error: 'must be true or false' }).optional(),
    ...keyFields,
  },
  'an object {id, name, hash, team?, metadata?, models?, limits?, budgets?, revoked?}',
  'a key is kept as its "hash", never its secret; ',
)

const fileSchema = strict(
  {
    keys: z.array(entry, { error: 'must be an array of keys' }).default([]),
    teams: z.record(z.string(), strict({ budgets: budgetsSchema.optional() }, 'an object {budgets?}'), { error: 'must be an object of teams' }).default({}),
  },
  'a JSON object {keys, teams?}',
)

/** Two entries with one id or one hash would make a key mean two things. */
function duplicates(keys: KeyRecord[]): string[] {
  const problems: string[] = []
  const ids = new Map<string, number>()
  const digests = new Map<string, number>()
  keys.forEach((key, index) => {
    const sameId = ids.get(key.id)
    if (sameId !== undefined) problems.push(`keys.${index}.id "${key.id}" is also the id of keys.${sameId}`)
    else ids.set(key.id, index)
    const sameHash = digests.get(key.digest)
    if (sameHash !== undefined) problems.push(`keys.${index}.hash is also the hash of keys.${sameHash}: one secret, two keys`)
    else digests.set(key.digest, index)
  })
  return problems
}

/** The text of the file checked; problems one line each, by path. */
export function parseKeysFile(text: string): KeysFile | { problems: string[] } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return { problems: [`could not be read as JSON: ${(error as Error).message}`] }
  }
  const parsed = fileSchema.safeParse(json)
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => problemOf(issue)) }
  const keys: KeyRecord[] = parsed.data.keys.map(({ hash, ...fields }) => ({ ...fields, digest: hash }))
  const problems = duplicates(keys)
  return problems.length > 0 ? { problems } : { keys, teams: parsed.data.teams }
}

export function readKeysFile(path: string): KeysFile | { problems: string[] } {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    return { problems: [`could not be read: ${(error as Error).message}`] }
  }
  return parseKeysFile(text)
}
