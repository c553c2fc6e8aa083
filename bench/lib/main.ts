import { mkdirSync, writeFileSync } from 'node:fs'
import { BENCH } from './procs.ts'
import { cpuTimes, loadNow, provenance, stealSince } from './provenance.ts'
import { POINT_SECONDS, runSuite, WARM_C1_SECONDS } from './suite.ts'
import { CHECK_EVERY } from '../servers/otlp-span-count.ts'
import { failedChecks, render, writeResults } from './report.ts'

export async function main(): Promise<void> {
  const scale = Number(process.env.BENCH_SCALE ?? 1)
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
  const profile = process.env.BENCH_PROFILE === '1'
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`)
  mkdirSync(`${BENCH}out/profiles`, { recursive: true })
  const before = provenance()
  const cpu = cpuTimes()
  log(`load average before: ${before.loadBefore}`)
  const results = await runSuite({
    scale,
    only,
    log,
    gatewayNodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${BENCH}out/profiles`] : [],
  })
  // The command as run: a partial or scaled run says which targets and what scale.
  const settings = [only && `BENCH_ONLY=${only.join(',')}`, scale !== 1 && `BENCH_SCALE=${scale}`].filter(Boolean).join(' ')
  const command = settings ? `${settings} npm run bench` : 'npm run bench'
  const run = { provenance: before, loadAfter: loadNow(), steal: stealSince(cpu), scale, command, warmC1Seconds: WARM_C1_SECONDS, sinkCountsOnArrival: true, sinkChecksEvery: CHECK_EVERY, jsonC32Seconds: POINT_SECONDS('json', 32), results }
  const file = `${BENCH}out/results-${before.date.replace(/[:]/g, '-')}.json`
  writeFileSync(file, JSON.stringify(run, null, 2))
  log(`raw results: ${file}`)
  if (!only && scale === 1) {
    writeResults(run)
    log('tables written to bench/RESULTS.md')
  } else {
    log('partial or scaled run: bench/RESULTS.md left as it was')
    process.stdout.write(`${render(run)}\n`)
  }
  // Written first, so a failed check can be read in its table.
  const failed = failedChecks(run)
  if (failed.length) {
    for (const line of failed) log(`check FAILED: ${line}`)
    process.exitCode = 1
  }
}
