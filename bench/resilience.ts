// `npm run bench:resilience`: collector outages, SIGTERM under load, mass disconnects, a faulty
// upstream and a fuzz run, each bounded in time, loopback only; results to bench/RESILIENCE.md.
// RESILIENCE_ONLY=collector,sigterm,disconnect,faults,fuzz picks checks; BENCH_SCALE shortens the fuzz run.
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { main } = await import('./lib/resilience/main.ts')
await main()
