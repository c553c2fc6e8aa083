// How a named key's secret is kept: only its SHA-256, written `sha256:<hex>`. A key is long and
// random (not a password), so one unsalted hash is enough to make a leaked keys file or Redis
// useless to whoever reads it, and it lets the gateway find a key by its digest.
// `node src/keys/hash.ts <secret>` prints the entry's `hash`; without an argument it makes a new
// secret and prints both (the secret once: it is kept nowhere).
import { createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'

export const HASH_PREFIX = 'sha256:'

/** The SHA-256 of a presented key: what the key ring is indexed by. */
export function digestOf(secret: string): Buffer {
  return createHash('sha256').update(secret).digest()
}

/** `sha256:<hex>`, as the keys file and the admin store keep a key. */
export function hashOf(secret: string): string {
  return HASH_PREFIX + digestOf(secret).toString('hex')
}

/** A new key: `sk-gw-` and 32 random bytes (base64url), the shape the scrubber knows as a key. */
export function newSecret(): string {
  return `sk-gw-${randomBytes(32).toString('base64url')}`
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const given = process.argv[2]
  const secret = given ?? newSecret()
  if (given === undefined) process.stdout.write(`secret: ${secret}\n`)
  process.stdout.write(`hash:   ${hashOf(secret)}\n`)
}
