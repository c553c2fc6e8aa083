// Writes bench/RESULTS.md's tables again from a run's raw results (what `npm run bench` saves in
// bench/out/results-<date>.json), with the report as it is now: `node bench/render-results.ts FILE`.
// The measurements are the run's; only how they are tabled may differ from what the run wrote.
import { readFileSync } from 'node:fs'
import { writeResults, type Run } from './lib/report.ts'

const [file] = process.argv.slice(2)
if (!file) throw new Error('usage: node bench/render-results.ts bench/out/results-<date>.json')
writeResults(JSON.parse(readFileSync(file, 'utf8')) as Run)
console.log(`bench/RESULTS.md: tables written from ${file}`)
