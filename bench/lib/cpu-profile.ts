// Reading V8 .cpuprofile files (node --cpu-prof): self time per sampled node, and the names the
// profile tools (bench/profile-summary.ts, bench/profile-diff.ts) print for functions.
import { readFileSync } from 'node:fs'

export interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
}

/** µs of self time by node id. */
export function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  return self
}

/** node_modules/<pkg> (scoped too), src/…, node:…, or the bare url. */
export function area(url: string): string {
  if (!url) return '(native/gc/idle)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm) return nm[1]!
  const src = /\/(src|bench|test)\/(.*)$/.exec(url)
  if (src) return `${src[1]}/${src[2]}`
  return url.replace(/^file:\/\//, '')
}

/** `function area:line`, the line counted from 1. */
export function functionName(callFrame: ProfileNode['callFrame']): string {
  return `${callFrame.functionName || '(anonymous)'} ${area(callFrame.url)}:${callFrame.lineNumber + 1}`
}
