// The bench's own dependencies (autocannon, @portkey-ai/gateway) live in bench/node_modules,
// never in the gateway's: installed from bench/package-lock.json when missing or stale.
import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { BENCH } from './procs.ts'

export function ensureBenchDeps(): void {
  const installed = `${BENCH}node_modules/.package-lock.json`
  const lock = `${BENCH}package-lock.json`
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return
  process.stderr.write('bench: installing benchmark dependencies (npm ci --prefix bench)…\n')
  execFileSync('npm', ['ci', '--prefix', BENCH, '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'inherit' })
}
