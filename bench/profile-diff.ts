// Self time per request by function, one .cpuprofile against another: what a variant adds.
// `node bench/profile-diff.ts A.cpuprofile REQUESTS_A B.cpuprofile REQUESTS_B [top=40]`, the
// request counts as bench/ab.ts prints them ("requests served"); idle and (program) left out.
import { readFileSync } from 'node:fs'

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]
  samples: number[]
  timeDeltas: number[]
}

const [fileA, requestsA, fileB, requestsB, topArg] = process.argv.slice(2)
if (!fileA || !requestsA || !fileB || !requestsB) throw new Error('usage: node bench/profile-diff.ts A.cpuprofile REQUESTS_A B.cpuprofile REQUESTS_B [top]')

/** µs of self time per request, by `function file:line`. */
function perRequest(file: string, requests: number): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const self = new Map<string, number>()
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/.*\/(node_modules\/|src\/)/, '$1')}:${frame.lineNumber}`
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / requests)
  })
  return self
}

const a = perRequest(fileA, Number(requestsA))
const b = perRequest(fileB, Number(requestsB))
const rows = [...new Set([...a.keys(), ...b.keys()])]
  .filter((key) => !/^\((idle|program)\)/.test(key))
  .map((key) => ({ key, a: a.get(key) ?? 0, b: b.get(key) ?? 0 }))
  .sort((x, y) => y.a - y.b - (x.a - x.b))
const total = (side: 'a' | 'b') => rows.reduce((sum, row) => sum + row[side], 0).toFixed(1)
console.log(`µs a request, all functions: A ${total('a')}, B ${total('b')}`)
console.log('| A − B | A | B | function |\n| ---: | ---: | ---: | --- |')
for (const row of rows.slice(0, Number(topArg ?? 40))) {
  console.log(`| ${(row.a - row.b).toFixed(1)} | ${row.a.toFixed(1)} | ${row.b.toFixed(1)} | ${row.key} |`)
}
