// Renders a run into bench/RESULTS.md, between the markers; the hand-written text around them
// (what was optimised, why a target is missed) is kept.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { Provenance } from './provenance.ts'
import { BENCH } from './procs.ts'
import { renderRouting } from './routing-report.ts'
import { CONCURRENCY, OPEN_STREAMS, type TargetResult } from './suite.ts'

export interface Run {
  provenance: Provenance
  loadAfter: string
  /** CPU time stolen by the hypervisor during the run. */
  steal?: string
  scale: number
  command: string
  results: TargetResult[]
}

const START = '<!-- results:start (written by npm run bench) -->'
const END = '<!-- results:end -->'

const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(v < 10 ? 2 : 1))
const signed = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : `${v >= 0 ? '+' : ''}${ms(v)}`)
const int = (v: number) => Math.round(v).toLocaleString('en-US')
const pct = (v: number) => `${Math.round(v * 100)} %`
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
const cpu = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : int(v))
const check = (ok: boolean) => (ok ? '**met**' : '**missed**')

export function perStreamKiB(r: TargetResult): number {
  return r.openStreams ? (r.rssOpenKiB - r.rssIdleKiB) / r.openStreams : NaN
}

export function render(run: Run): string {
  const by = new Map(run.results.map((r) => [r.key, r]))
  const direct = by.get('direct')
  const json = (key: string, c: number) => by.get(key)?.json.find((j) => j.connections === c)
  const stream = (key: string, c: number) => by.get(key)?.streams.find((s) => s.connections === c)
  const rps32 = (key: string) => json(key, 32)?.rps ?? NaN
  const on = by.get('on')
  const lines: string[] = []

  const addedP50 = (json('on', 1)?.latency.p50 ?? NaN) - (json('direct', 1)?.latency.p50 ?? NaN)
  const addedP99 = (json('on', 1)?.latency.p99 ?? NaN) - (json('direct', 1)?.latency.p99 ?? NaN)
  const ttfcAdded = (stream('on', 1)?.ttfc.p50 ?? NaN) - (stream('direct', 1)?.ttfc.p50 ?? NaN)
  const perStream = on ? perStreamKiB(on) : NaN
  lines.push('### Targets: ratios from this run (gateway with telemetry on)', '')
  lines.push(row(['what', 'measured', 'goal', '']), row(['---', '---:', '---:', '---']))
  const targets: Array<[string, string, string, boolean]> = [
    ['requests/s at c=32 ÷ Portkey', `${(rps32('on') / rps32('portkey')).toFixed(2)}×`, '≥ 2×', rps32('on') / rps32('portkey') >= 2],
    ['requests/s at c=32 ÷ telemetry off', pct(rps32('on') / rps32('off')), '≥ 80 %', rps32('on') / rps32('off') >= 0.8],
    ['requests/s at c=32 ÷ bare proxy', pct(rps32('on') / rps32('bare')), '≥ 50 %', rps32('on') / rps32('bare') >= 0.5],
    ['added latency over direct, c=1, p50', `${ms(addedP50)} ms`, '≤ 1 ms', addedP50 <= 1],
    ['added latency over direct, c=1, p99', `${ms(addedP99)} ms`, '≤ 3 ms', addedP99 <= 3],
    ['time to first chunk added, c=1, p50', `${ms(ttfcAdded)} ms`, '≤ 1 ms', ttfcAdded <= 1],
    [`RSS per open stream (${int(OPEN_STREAMS)} open)`, `${perStream.toFixed(1)} KiB`, '≤ 64 KiB', perStream <= 64],
  ]
  for (const [what, measured, goal, ok] of targets) lines.push(row([what, measured, goal, check(ok)]))

  lines.push('', '### Requests/s relative to the others (JSON, same run)', '')
  lines.push(row(['', ...CONCURRENCY.map((c) => `c=${c}: ÷ direct`), 'c=32: ÷ bare proxy', 'c=32: ÷ Portkey']))
  lines.push(row(['---', ...CONCURRENCY.map(() => '---:'), '---:', '---:']))
  for (const r of run.results) {
    lines.push(row([
      r.label,
      ...CONCURRENCY.map((c) => pct((json(r.key, c)?.rps ?? NaN) / (json('direct', c)?.rps ?? NaN))),
      pct(rps32(r.key) / rps32('bare')),
      `${(rps32(r.key) / rps32('portkey')).toFixed(2)}×`,
    ]))
  }

  lines.push('', '### Non-streaming JSON: `POST /v1/chat/completions`', '')
  lines.push(row(['target', 'c', 'req/s', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', 'server CPU µs/req', 'failed']))
  lines.push(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']))
  for (const r of run.results) {
    for (const j of r.json) {
      const d = direct?.json.find((x) => x.connections === j.connections)
      lines.push(row([r.label, j.connections, int(j.rps), ms(j.latency.p50), ms(j.latency.p99), r.key === 'direct' ? '–' : signed(j.latency.p50 - (d?.latency.p50 ?? NaN)), r.key === 'direct' ? '–' : signed(j.latency.p99 - (d?.latency.p99 ?? NaN)), cpu(j.cpuUsPerRequest), j.failed]))
    }
  }

  lines.push('', '### Streams (SSE): time to first chunk (TTFC) and to the end of the stream', '')
  lines.push(row(['target', 'c', 'streams/s', 'TTFC p50', 'TTFC p99', 'full p50', 'full p99', 'TTFC added p50', 'full added p50', 'server CPU µs/stream', 'failed / incomplete']))
  lines.push(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']))
  for (const r of run.results) {
    for (const s of r.streams) {
      const d = direct?.streams.find((x) => x.connections === s.connections)
      const vs = (v: number, base: number | undefined) => (r.key === 'direct' ? '–' : signed(v - (base ?? NaN)))
      lines.push(row([r.label, s.connections, int(s.rps), ms(s.ttfc.p50), ms(s.ttfc.p99), ms(s.latency.p50), ms(s.latency.p99), vs(s.ttfc.p50, d?.ttfc.p50), vs(s.latency.p50, d?.latency.p50), cpu(s.cpuUsPerRequest), `${s.failed} / ${s.incomplete}`]))
    }
  }
  lines.push(...renderRouting(run.results))
  lines.push('', 'Times in ms. "added" is the target\'s figure minus direct\'s at the same concurrency. "server CPU" is the CPU time (user + system, from /proc) the process under test used per request: for direct the upstream itself, otherwise the proxy or gateway alone. It does not move with what the hypervisor steals, so it is the steadiest figure here.')

  lines.push('', '### Memory and start-up', '')
  lines.push(row(['target', 'start-up to ready', 'RSS idle', `RSS, ${int(OPEN_STREAMS)} open streams`, 'RSS per open stream', 'JS heap per open stream']))
  lines.push(row(['---', '---:', '---:', '---:', '---:', '---:']))
  for (const r of run.results) {
    const heap = r.heapOpenKiB !== undefined && r.heapIdleKiB !== undefined && r.openStreams ? `${((r.heapOpenKiB - r.heapIdleKiB) / r.openStreams).toFixed(1)} KiB` : '–'
    // A target whose streams cannot be held open (cache replays) has no figure per stream.
    const open = r.openStreams ? `${(r.rssOpenKiB / 1024).toFixed(1)} MiB (${r.openStreams} open)` : '–'
    lines.push(row([r.label, `${int(r.startupMs)} ms`, `${(r.rssIdleKiB / 1024).toFixed(1)} MiB`, open, r.openStreams ? `${perStreamKiB(r).toFixed(1)} KiB` : '–', heap]))
  }
  lines.push('', 'Memory and start-up are taken on a fresh process started alone, after a short warm-up, each time after a full GC (bench/servers/probe.ts), with the streams held open by the upstream after their first chunk. "direct" is the bench upstream itself (a bare node:http server holding the streams), for reference. Start-up: from spawn to the first successful answer (the gateway: GET /ready).')
  if (on?.scrapes || on?.exported) {
    lines.push('', `Telemetry on: /metrics scraped ${on.scrapes?.ok ?? 0} times (${on.scrapes?.failed ?? 0} failed); ` +
      `the OTLP sink received ${on.exported?.traces ?? 0} trace and ${on.exported?.metrics ?? 0} metric posts (${((on.exported?.bytes ?? 0) / 2 ** 20).toFixed(1)} MiB).`)
  }

  const p = run.provenance
  lines.push('', '### Provenance', '')
  lines.push(`- Command: \`${run.command}\` (from the repository root)`)
  lines.push(`- Date: ${p.date}`)
  lines.push(`- Machine: ${p.machine}`)
  lines.push(`- Versions: ${p.versions}`)
  lines.push(`- Load average (1, 5, 15 min) before: ${p.loadBefore}; after: ${run.loadAfter}; CPU steal during the run: ${run.steal ?? '?'}`)
  lines.push('- Settings: 40 content chunks per stream (43 events, each written in its own event-loop turn by the upstream, after a 2 ms pause behind the first); every target running at once, each JSON and stream point 10 s per target (c=1: 6 s) in 2 s slices, the load moving from target to target (order rotating each round) so that the changing CPU steal of the VM hits all alike, after a 3 s + 2 s warm-up per target; memory and start-up on a fresh process per target, one at a time; gateway with `LOG_LEVEL=warn`, `UPSTREAM_MAX_RETRIES=2`, default trace store; telemetry on = `OTEL_TRACES_SAMPLER=always_on`, OTLP/proto to a counting sink, metrics exported every 10 s and `/metrics` scraped every second')
  return lines.join('\n')
}

export function writeResults(run: Run): void {
  const file = `${BENCH}RESULTS.md`
  const current = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmark results\n\n${START}\n${END}\n`
  const start = current.indexOf(START)
  const end = current.indexOf(END)
  const body = `${START}\n${render(run)}\n${END}`
  const next = start >= 0 && end > start ? current.slice(0, start) + body + current.slice(end + END.length) : `${current}\n${body}\n`
  writeFileSync(file, next)
}
