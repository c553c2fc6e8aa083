// What a results file must say about where and when its numbers were taken.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { BENCH, ROOT } from './procs.ts'

function version(dir: string, pkg: string): string {
  try {
    return (JSON.parse(readFileSync(`${dir}node_modules/${pkg}/package.json`, 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim()
  } catch {
    return '?'
  }
}

export interface Provenance {
  date: string
  machine: string
  versions: string
  loadBefore: string
}

export function provenance(): Provenance {
  const cpu = cpus()
  const dirty = git('status', '--porcelain', '--', 'src').length > 0 ? ' + uncommitted changes in src/' : ''
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}`,
    versions:
      `Node ${process.versions.node}; sik-llms-gateway ${git('rev-parse', '--short', 'HEAD')}${dirty} ` +
      `(fastify ${version(ROOT, 'fastify')}, openai ${version(ROOT, 'openai')}, undici ${version(ROOT, 'undici')}, ` +
      `@opentelemetry/sdk-node ${version(ROOT, '@opentelemetry/sdk-node')}); ` +
      `@portkey-ai/gateway ${version(BENCH, '@portkey-ai/gateway')}; autocannon ${version(BENCH, 'autocannon')}`,
    loadBefore: loadavg().map((l) => l.toFixed(2)).join(', '),
  }
}

/** The machine-wide CPU counters of /proc/stat (jiffies): total and stolen by the hypervisor. */
export function cpuTimes(): { total: number; steal: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 }
  } catch {
    return { total: 0, steal: 0 }
  }
}

/** Share of CPU time the hypervisor took from this VM since `since` (a noisy neighbour shows here). */
export function stealSince(since: { total: number; steal: number }): string {
  const now = cpuTimes()
  const total = now.total - since.total
  return total > 0 ? `${((100 * (now.steal - since.steal)) / total).toFixed(1)} %` : '?'
}

export const loadNow = () => loadavg().map((l) => l.toFixed(2)).join(', ')
