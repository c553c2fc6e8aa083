// `npm run bench`: one run, every target, the same machine; results to bench/RESULTS.md.
// BENCH_SCALE (e.g. 0.3) shortens every phase for development runs; BENCH_ONLY=direct,on picks
// targets; BENCH_PROFILE=1 starts the gateway with --cpu-prof (profiles in bench/out/profiles).
import { ensureBenchDeps } from './lib/deps.ts'

ensureBenchDeps()
const { main } = await import('./lib/main.ts')
await main()
