// The routing scenarios' part of a run's tables (bench/lib/routing.ts): each against calling the
// upstream directly and against the plain gateway with telemetry on (the same settings, one target),
// then what each scenario promised and whether the run kept it.
import type { TargetResult } from './suite.ts'

const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(v < 10 ? 2 : 1))
const signed = (v: number) => (Number.isNaN(v) ? '–' : `${v >= 0 ? '+' : ''}${ms(v)}`)
const int = (v: number) => (Number.isNaN(v) ? '–' : Math.round(v).toLocaleString('en-US'))
const pct = (v: number) => (Number.isNaN(v) ? '–' : `${Math.round(v * 100)} %`)
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`

export function renderRouting(results: TargetResult[]): string[] {
  const scenarios = results.filter((r) => r.checks)
  if (!scenarios.length) return []
  const by = new Map(results.map((r) => [r.key, r]))
  const json = (key: string, c: number) => by.get(key)?.json.find((j) => j.connections === c)
  const stream = (key: string, c: number) => by.get(key)?.streams.find((s) => s.connections === c)
  const lines = ['', '### Route groups: a fallback on every call, and cache hits (same run)', '']
  lines.push(row(['scenario', 'c', 'req/s', '÷ direct', '÷ gateway on', 'p50 ms', 'p99 ms', 'added p50 over direct', 'added p50 over gateway on', 'server CPU µs/req', 'failed']))
  lines.push(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']))
  for (const r of scenarios) {
    for (const j of r.json) {
      const c = j.connections
      const direct = json('direct', c)
      const on = json('on', c)
      lines.push(row([r.label, c, int(j.rps), pct(j.rps / (direct?.rps ?? NaN)), pct(j.rps / (on?.rps ?? NaN)), ms(j.latency.p50), ms(j.latency.p99), signed(j.latency.p50 - (direct?.latency.p50 ?? NaN)), signed(j.latency.p50 - (on?.latency.p50 ?? NaN)), int(j.cpuUsPerRequest ?? NaN), j.failed]))
    }
  }
  lines.push('', row(['scenario (streams)', 'c', 'streams/s', '÷ direct', '÷ gateway on', 'TTFC p50', 'full p50', 'full p99', 'TTFC added over direct', 'TTFC added over gateway on', 'server CPU µs/stream', 'failed / incomplete']))
  lines.push(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']))
  for (const r of scenarios) {
    for (const s of r.streams) {
      const c = s.connections
      const direct = stream('direct', c)
      const on = stream('on', c)
      lines.push(row([r.label, c, int(s.rps), pct(s.rps / (direct?.rps ?? NaN)), pct(s.rps / (on?.rps ?? NaN)), ms(s.ttfc.p50), ms(s.latency.p50), ms(s.latency.p99), signed(s.ttfc.p50 - (direct?.ttfc.p50 ?? NaN)), signed(s.ttfc.p50 - (on?.ttfc.p50 ?? NaN)), int(s.cpuUsPerRequest ?? NaN), `${s.failed} / ${s.incomplete}`]))
    }
  }
  lines.push('', row(['scenario', 'checked after the load', 'measured', '']), row(['---', '---', '---:', '---']))
  for (const r of scenarios) {
    for (const check of r.checks!) lines.push(row([r.label, check.what.replaceAll('|', '\\|'), check.measured, check.ok ? '**pass**' : '**FAIL**']))
  }
  lines.push(
    '',
    'Both route groups are named `gpt-4o-mini`, the model every scenario asks for, with telemetry on as in "gateway, telemetry on". ' +
      'Fallback: target 1 (its own upstream process) answers every call 503 at once; the circuit breaker is kept shut (a 1 ms failure window), so every call pays the failed attempt — the worst case; with the default cooldown target 1 is skipped after 3 failures. ' +
      'Cache: the memory store, warmed with the JSON and the streamed request once, its upstream (its own process) counted from then on. ' +
      '"whole run" counts everything the process took (warm-ups and load slices); the batch is sent after the load, 1,000 requests at c=32 (one in five streaming), each answer\'s headers checked.',
  )
  return lines
}
