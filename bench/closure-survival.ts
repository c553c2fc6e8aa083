// The V8 behaviour behind issue 15's GC finding, alone: `node bench/closure-survival.ts`. Each
// pattern runs a loop of "requests" (40 small objects, then a turn of the event loop) for 2 s in a
// child with --trace-gc-nvp, and prints what each young collection found alive. Nothing outlives
// its iteration, so a correct scavenger keeps a few KB; a pattern that keeps everything keeps the
// whole young generation, promoted, until a full GC. Node 24.21 (V8 13.6) on this machine:
// `arrow stored by a method` and `API BaseContext` keep MBs, the others a few KB.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const PATTERNS: Record<string, string> = {
  'nothing stored': '',
  'arrow stored by a method (undici RequestHandler.onRequestStart)': 'new H().start(new Ctl(abort))',
  'bound function stored by a method': 'new H().startBound(new Ctl(abort))',
  'arrow as a class field (kept by the gateway)': 'new Held(abort)',
  'API BaseContext (ROOT_CONTEXT.setValue)': 'ROOT_CONTEXT.setValue(KEY, garbage)',
}

if (process.argv[2] === 'child') {
  const { ROOT_CONTEXT, createContextKey } = await import('@opentelemetry/api')
  const KEY = createContextKey('closure-survival')
  class Ctl {
    readonly #abort: (reason?: unknown) => void
    constructor(abort: (reason?: unknown) => void) {
      this.#abort = abort
    }
    abort(reason?: unknown) {
      this.#abort(reason)
    }
  }
  class H {
    abort: ((reason?: unknown) => void) | undefined
    start(controller: Ctl) {
      this.abort = (reason) => controller.abort(reason)
    }
    startBound(controller: Ctl) {
      this.abort = controller.abort.bind(controller)
    }
  }
  class Held {
    readonly onAbort = () => this.abort()
    readonly #abort: () => void
    constructor(abort: () => void) {
      this.#abort = abort
    }
    abort() {
      this.#abort()
    }
  }
  const body = PATTERNS[process.argv[3]!]!
  const step = new Function('H', 'Ctl', 'Held', 'ROOT_CONTEXT', 'KEY', 'garbage', 'abort', body) as (...args: unknown[]) => void
  let sink = 0
  const until = Date.now() + 2000
  while (Date.now() < until) {
    const garbage: object[] = []
    for (let i = 0; i < 40; i++) garbage.push({ i, s: `x${i}` })
    const abort = () => (sink += garbage.length)
    step(H, Ctl, Held, ROOT_CONTEXT, KEY, garbage, abort)
    await new Promise((resolve) => setImmediate(resolve))
  }
  if (sink < 0) console.log(sink)
} else {
  const self = fileURLToPath(import.meta.url)
  for (const name of Object.keys(PATTERNS)) {
    const { stdout } = spawnSync(process.execPath, ['--trace-gc-nvp', self, 'child', name], { encoding: 'utf8' })
    const scavenges = stdout.split('\n').filter((line) => / gc=s /.test(line))
    const survived = scavenges.reduce((sum, line) => sum + Number(line.match(/new_space_survived=(\d+)/)?.[1] ?? 0), 0)
    console.log(`${name}: ${scavenges.length} scavenges, ${(survived / Math.max(1, scavenges.length) / 1024).toFixed(1)} KiB alive after each`)
  }
}
