// What a gateway child process holds in memory, as the memory-bound tests read it: its resident
// set (VmRSS, what the machine feels) and its V8 heap after a full GC, which the test preload
// (`gc-on-signal`, started with --expose-gc) runs on SIGUSR2 and reports on a log line.
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { GatewayProcess } from './gateway.ts'

/** The process's resident set, in MB. */
export function rssMB(process: GatewayProcess): number {
  const status = readFileSync(`/proc/${process.child.pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) / 1024
}

const MB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

/** RSS and V8 heap (MB) after a full GC in the gateway. */
export async function afterGc(t: Test, process: GatewayProcess): Promise<{ rss: number; heap: number }> {
  const done = () => process.lines.filter((line) => line.includes('"test gc done"'))
  const before = done().length
  process.child.kill('SIGUSR2')
  while (done().length === before) await sleep(20)
  const { memory } = JSON.parse(done().at(-1)!) as { memory: NodeJS.MemoryUsage }
  t.comment(`after GC: heap ${MB(memory.heapUsed)} used of ${MB(memory.heapTotal)}, external ${MB(memory.external)}, array buffers ${MB(memory.arrayBuffers)}`)
  return { rss: rssMB(process), heap: memory.heapUsed / 1024 / 1024 }
}
