// Sums a .cpuprofile's self time by function and by package/file: where the gateway's CPU goes.
// `node bench/profile-summary.ts bench/out/profiles/CPU.….cpuprofile [top=30]`
import { area, functionName, readProfile, selfTimes } from './lib/cpu-profile.ts'

const [file, topArg] = process.argv.slice(2)
if (!file) throw new Error('usage: node bench/profile-summary.ts FILE.cpuprofile [top]')
const top = Number(topArg ?? 30)
const profile = readProfile(file)
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = selfTimes(profile)
const total = [...self.values()].reduce((a, b) => a + b, 0)

const fns = new Map<string, number>()
const areas = new Map<string, number>()
for (const [id, us] of self) {
  const { callFrame } = byId.get(id)!
  const where = area(callFrame.url)
  const fn = functionName(callFrame)
  fns.set(fn, (fns.get(fn) ?? 0) + us)
  areas.set(where, (areas.get(where) ?? 0) + us)
}
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`)
  }
}
console.log(`total ${(total / 1000).toFixed(0)} ms sampled`)
print('self time by package / file', areas)
print('self time by function', fns)

// CALLERS=name: where a function's self time comes from (its three nearest callers), e.g. the
// native `writeUtf8String` or the garbage collector's hosts.
const callersOf = process.env.CALLERS
if (callersOf) {
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const stacks = new Map<string, number>()
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName !== callersOf) continue
    const names: string[] = []
    for (let p = parent.get(id); p !== undefined && names.length < Number(process.env.DEPTH ?? 3); p = parent.get(p)) {
      names.push(functionName(byId.get(p)!.callFrame))
    }
    const key = names.join(' ← ')
    stacks.set(key, (stacks.get(key) ?? 0) + us)
  }
  print(`callers of ${callersOf}`, stacks)
}
