// Self time per request by function, one .cpuprofile against another: what a variant adds.
// `node bench/profile-diff.ts A.cpuprofile REQUESTS_A B.cpuprofile REQUESTS_B [top=40]`, the
// request counts as bench/ab.ts prints them ("requests served"); idle and (program) left out.
import { functionName, readProfile, selfTimes } from './lib/cpu-profile.ts'

const [fileA, requestsA, fileB, requestsB, topArg] = process.argv.slice(2)
if (!fileA || !requestsA || !fileB || !requestsB) throw new Error('usage: node bench/profile-diff.ts A.cpuprofile REQUESTS_A B.cpuprofile REQUESTS_B [top]')

/** µs of self time per request, by function. */
function perRequest(file: string, requests: number): Map<string, number> {
  const profile = readProfile(file)
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const byFunction = new Map<string, number>()
  for (const [id, us] of selfTimes(profile)) {
    const name = functionName(byId.get(id)!)
    byFunction.set(name, (byFunction.get(name) ?? 0) + us / requests)
  }
  return byFunction
}

const a = perRequest(fileA, Number(requestsA))
const b = perRequest(fileB, Number(requestsB))
const rows = [...new Set([...a.keys(), ...b.keys()])]
  .filter((name) => !/^\((idle|program)\)/.test(name))
  .map((name) => ({ name, a: a.get(name) ?? 0, b: b.get(name) ?? 0 }))
  .sort((x, y) => y.a - y.b - (x.a - x.b))
const total = (side: 'a' | 'b') => rows.reduce((sum, row) => sum + row[side], 0).toFixed(1)
console.log(`µs a request, all functions: A ${total('a')}, B ${total('b')}`)
console.log('| A − B | A | B | function |\n| ---: | ---: | ---: | --- |')
for (const row of rows.slice(0, Number(topArg ?? 40))) {
  console.log(`| ${(row.a - row.b).toFixed(1)} | ${row.a.toFixed(1)} | ${row.b.toFixed(1)} | ${row.name} |`)
}
