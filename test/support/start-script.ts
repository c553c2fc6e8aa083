// What `npm start` (package.json) sets before it execs node: its environment defaults, written
// `NAME=${NAME:-value}` ahead of `exec`. Test gateways and the Docker image get the same.
import { readFileSync } from 'node:fs'

const DEFAULT = /^([A-Z_][A-Z0-9_]*)=\$\{\1:-([^}]*)\}$/

export function startScript(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start
}

/** The start script's environment defaults, by name; a word that assigns any other way is an error. */
export function startEnvDefaults(script = startScript()): Record<string, string> {
  const defaults: Record<string, string> = {}
  for (const word of script.split(' ')) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue
    const [, name, value] = DEFAULT.exec(word) ?? []
    if (name === undefined || value === undefined) throw new Error(`the start script's ${word} is not NAME=\${NAME:-value}`)
    defaults[name] = value
  }
  return defaults
}
