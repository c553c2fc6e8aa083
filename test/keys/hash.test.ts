// `node src/keys/hash.ts`, the README's way to make a keys file entry: with a secret it prints
// that secret's `hash` (the SHA-256 as `sha256:<hex>`); without one it makes a new random secret
// and prints it with its hash.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = (...args: string[]) => execFileSync(process.execPath, ['src/keys/hash.ts', ...args], { cwd: root, encoding: 'utf8' })
const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`

t.test('a given secret: its hash, as the keys file wants it', async (t) => {
  t.equal(run('sk-gw-my-secret-123').trim(), `hash:   ${sha256('sk-gw-my-secret-123')}`)
})

t.test('no secret: a new random one, printed once with its hash', async (t) => {
  const [first, second] = [run(), run()]
  const secret = /^secret: (sk-gw-[A-Za-z0-9_-]{43})$/m.exec(first)?.[1]
  t.ok(secret, `a secret of 32 random bytes: ${first}`)
  t.match(first, `hash:   ${sha256(secret ?? '')}`)
  t.not(first, second, 'a different secret each time')
})
