// The "nothing lost" part of a run's tables (bench/lib/nothing-lost.ts): every check on every
// gateway process that ran with telemetry on.
import type { TargetResult } from './suite.ts'

const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`

/** `sinkCounting`: how the run's sink counted the spans it received (report.ts). */
export function renderNothingLost(results: TargetResult[], sinkCounting: string): string[] {
  const checked = results.filter((r) => r.telemetryChecks)
  if (!checked.length) return []
  const lines = ['', '### Nothing lost: spans and metrics of every telemetry-on process against what it served', '']
  lines.push(row(['process', 'checked after the load', 'measured', '']), row(['---', '---', '---:', '---']))
  for (const r of checked) {
    for (const check of r.telemetryChecks!) lines.push(row([r.label, check.what.replaceAll('|', '\\|'), check.measured.replaceAll('|', '\\|'), check.ok ? '**pass**' : '**FAIL**']))
  }
  lines.push(
    '',
    `Each telemetry-on gateway exports to its own path under the OTLP sink, which has its spans ${sinkCounting}. ` +
      'After its load (and a route group\'s own checks), each gets a batch of 500 requests (c=16, one in five streaming, every answer asked for its usage), ' +
      'then its /metrics is read a last time and it is stopped with SIGTERM, flushing its spans and pushing its metrics a last time. ' +
      '"Requests sent" are the load generator\'s counts over the process\'s life (warm-ups, load slices, batches): the JSON load ends each slice by closing its connections, ' +
      'cutting the requests then out ("cut"); the gateway saw each of them and ends their spans (a cancelled call if its upstream had not answered yet). ' +
      '"Not exported" is `otel_sdk_processor_span_processed_total` with an `error_type` (dropped from a full queue, or a failed export).',
  )
  return lines
}
