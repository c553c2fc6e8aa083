// Renders a run into bench/RESULTS.md, between the markers; the hand-written text around them
// (what was optimised, why a target is missed) is kept.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { Provenance } from './provenance.ts'
import { BENCH } from './procs.ts'
import { renderNothingLost } from './nothing-lost-report.ts'
import { renderRouting } from './routing-report.ts'
import { median } from './stats.ts'
import { CONCURRENCY, OPEN_STREAMS, type TargetResult } from './suite.ts'

export interface Run {
  provenance: Provenance
  loadAfter: string
  /** CPU time stolen by the hypervisor during the run. */
  steal?: string
  scale: number
  command: string
  /** Unmeasured seconds of JSON at c=1 per target, in rounds of the rotation, before the c=1 slices (from issue 15's sixteenth round; none before). */
  warmC1Seconds?: number
  /** The OTLP sink counted each trace post as it arrived (bench/servers/otlp-span-count.ts), instead of keeping the posts to decode at the end. */
  sinkCountsOnArrival?: boolean
  /** The sink also decoded each process's first trace post and one in this many whole with protobufjs (since the seventeenth round's second reading). */
  sinkChecksEvery?: number
  /** Seconds of JSON at c=32 per target, and every other round's order backwards (from issue 15's eighteenth round; 10 s and one direction before). */
  jsonC32Seconds?: number
  results: TargetResult[]
}

/** How long each point ran per target. */
function pointSeconds(run: Run): string {
  if (!run.jsonC32Seconds) return '10 s per target (c=1: 6 s)'
  return `10 s per target (c=1: 6 s; JSON at c=32: ${run.jsonC32Seconds * run.scale} s)`
}

/** The order of the targets in the rounds of a point. */
const rotation = (run: Run) => (run.jsonC32Seconds ? 'order rotating each round, every other round backwards, so that telemetry off and on, neighbours in the list, take turns at coming first' : 'order rotating each round')

/** How the run's OTLP sink counted the spans it received. */
function sinkCounting(run: Run): string {
  if (!run.sinkCountsOnArrival) return 'decoded and counted once the process had stopped'
  if (!run.sinkChecksEvery) return 'counted as each post arrived, nothing kept'
  return `counted as each post arrived, the first post and one in ${run.sinkChecksEvery} after it decoded whole with protobufjs once the process had stopped`
}

const START = '<!-- results:start (written by npm run bench) -->'
const END = '<!-- results:end -->'

const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(v < 10 ? 2 : 1))
const signed = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : `${v >= 0 ? '+' : ''}${ms(v)}`)
const int = (v: number) => Math.round(v).toLocaleString('en-US')
const pct = (v: number) => (Number.isNaN(v) ? '–' : `${Math.round(v * 100)} %`)
const times = (v: number) => (Number.isNaN(v) ? '–' : `${v.toFixed(2)}×`)
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
const cpu = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : int(v))
/** Met or missed; not measured (a partial run without the reference) when the figure is NaN. */
const check = (ok: boolean, value = 0) => (Number.isNaN(value) ? 'not measured' : ok ? '**met**' : '**missed**')

export function perStreamKiB(r: TargetResult): number {
  return r.openStreams ? (r.rssOpenKiB - r.rssIdleKiB) / r.openStreams : NaN
}

/** Every check of the run that failed (routing promises and nothing lost). */
export function failedChecks(run: Run): string[] {
  return run.results.flatMap((r) => [...(r.checks ?? []), ...(r.telemetryChecks ?? [])].filter((c) => !c.ok).map((c) => `${r.label}: ${c.what}: ${c.measured}`))
}

/** The goals every gateway scenario is held to (issue 15), against its references in the same run. */
const GOAL = { ratioOff: 0.8, ratioPortkey: 2.5, ratioBare: 0.5, addedP50: 0.5, addedP99: 3, ttfcAdded: 1, perStreamKiB: 64 }

export function render(run: Run): string {
  const by = new Map(run.results.map((r) => [r.key, r]))
  const json = (key: string | undefined, c: number) => (key === undefined ? undefined : by.get(key)?.json.find((j) => j.connections === c))
  const stream = (key: string | undefined, c: number) => (key === undefined ? undefined : by.get(key)?.streams.find((s) => s.connections === c))
  const rps32 = (key: string | undefined) => json(key, 32)?.rps ?? NaN
  /**
   * Requests/s at c=32 of `key` ÷ `reference` for the goals: the median over rounds of the ratio
   * of their slices in that round (2–24 s apart, the order rotating), so that a round in which
   * the machine ran slow (every target's CPU per request up 2–3× at once; the gap between targets
   * shrinks) weighs as much as the others and no more. Pooled figures when slices are missing.
   */
  const ratio32 = (key: string | undefined, reference: string | undefined) => {
    const a = json(key, 32)?.slices
    const b = json(reference, 32)?.slices
    if (!a || !b || a.length !== b.length || a.length === 0) return rps32(key) / rps32(reference)
    return median(a.map((slice, i) => slice.rps / b[i]!.rps))
  }
  /** At c=1, over calling the upstream directly at the same path. */
  const added = (r: TargetResult) => ({
    p50: (json(r.key, 1)?.latency.p50 ?? NaN) - (json(r.direct, 1)?.latency.p50 ?? NaN),
    p99: (json(r.key, 1)?.latency.p99 ?? NaN) - (json(r.direct, 1)?.latency.p99 ?? NaN),
    ttfc: (stream(r.key, 1)?.ttfc.p50 ?? NaN) - (stream(r.direct, 1)?.ttfc.p50 ?? NaN),
  })
  const on = by.get('on')
  const lines: string[] = []

  const onAdded = on ? added(on) : { p50: NaN, p99: NaN, ttfc: NaN }
  const perStream = on ? perStreamKiB(on) : NaN
  lines.push('### Targets: ratios from this run (gateway with telemetry on, Chat Completions)', '')
  lines.push(row(['what', 'measured', 'goal', '']), row(['---', '---:', '---:', '---']))
  const ratio = (key: string) => ratio32('on', key)
  const targets: Array<[string, string, string, number, boolean]> = [
    ['requests/s at c=32 ÷ telemetry off', pct(ratio('off')), `≥ ${pct(GOAL.ratioOff)}`, ratio('off'), ratio('off') >= GOAL.ratioOff],
    ['requests/s at c=32 ÷ Portkey', times(ratio('portkey')), `≥ ${GOAL.ratioPortkey}×`, ratio('portkey'), ratio('portkey') >= GOAL.ratioPortkey],
    ['requests/s at c=32 ÷ bare proxy', pct(ratio('bare')), `≥ ${pct(GOAL.ratioBare)}`, ratio('bare'), ratio('bare') >= GOAL.ratioBare],
    ['added latency over direct, c=1, p50', `${ms(onAdded.p50)} ms`, `≤ ${GOAL.addedP50} ms`, onAdded.p50, onAdded.p50 <= GOAL.addedP50],
    ['added latency over direct, c=1, p99', `${ms(onAdded.p99)} ms`, `≤ ${GOAL.addedP99} ms`, onAdded.p99, onAdded.p99 <= GOAL.addedP99],
    ['time to first chunk added, c=1, p50', `${ms(onAdded.ttfc)} ms`, `≤ ${GOAL.ttfcAdded} ms`, onAdded.ttfc, onAdded.ttfc <= GOAL.ttfcAdded],
    [`RSS per open stream (${int(OPEN_STREAMS)} open)`, Number.isNaN(perStream) ? '–' : `${perStream.toFixed(1)} KiB`, `≤ ${GOAL.perStreamKiB} KiB`, perStream, perStream <= GOAL.perStreamKiB],
  ]
  for (const [what, measured, goal, value, ok] of targets) lines.push(row([what, measured, goal, check(ok, value)]))
  if (json('on', 32)?.slices) {
    lines.push('', 'Ratios at c=32, here and per scenario: the median over the rounds of the ratio between the two targets\' slices in that round (2–24 s apart); the tables below pool the slices.')
  }

  // The same goals for every telemetry-on gateway scenario, each against its own references.
  const scenarios = run.results.filter((r) => r.telemetryChecks || r.checks)
  if (scenarios.length) {
    lines.push('', '### Targets per API and scenario (telemetry on; each against its own references in this run)', '')
    lines.push(row(['scenario', `req/s c=32 ÷ its telemetry off (≥ ${pct(GOAL.ratioOff)})`, `added p50, c=1 (≤ ${GOAL.addedP50} ms)`, `added p99, c=1 (≤ ${GOAL.addedP99} ms)`, `TTFC added p50, c=1 (≤ ${GOAL.ttfcAdded} ms)`, 'nothing lost']))
    lines.push(row(['---', '---:', '---:', '---:', '---:', '---']))
    const cell = (text: string, value: number, ok: boolean) => (Number.isNaN(value) ? '–' : `${text} ${check(ok)}`)
    for (const r of scenarios) {
      const a = added(r)
      const offRatio = ratio32(r.key, r.off)
      const lost = r.telemetryChecks ? (r.telemetryChecks.every((c) => c.ok) ? '**pass**' : '**FAIL**') : '–'
      lines.push(row([
        r.label,
        // A fallback makes two upstream calls and a cache hit none: no telemetry-off process does the same work.
        r.off ? cell(pct(offRatio), offRatio, offRatio >= GOAL.ratioOff) : '– (no like-for-like)',
        cell(`${signed(a.p50)} ms`, a.p50, a.p50 <= GOAL.addedP50),
        cell(`${signed(a.p99)} ms`, a.p99, a.p99 <= GOAL.addedP99),
        cell(`${signed(a.ttfc)} ms`, a.ttfc, a.ttfc <= GOAL.ttfcAdded),
        lost,
      ]))
    }
  }

  const chat = (r: TargetResult) => r.path === '/v1/chat/completions'
  lines.push('', '### Requests/s relative to the others (JSON, same run)', '')
  lines.push(row(['', ...CONCURRENCY.map((c) => `c=${c}: ÷ direct`), 'c=32: ÷ bare proxy', 'c=32: ÷ Portkey']))
  lines.push(row(['---', ...CONCURRENCY.map(() => '---:'), '---:', '---:']))
  for (const r of run.results) {
    lines.push(row([
      r.label,
      ...CONCURRENCY.map((c) => pct((json(r.key, c)?.rps ?? NaN) / (json(r.direct, c)?.rps ?? NaN))),
      // The bare proxy and Portkey are measured on Chat Completions only.
      chat(r) ? pct(rps32(r.key) / rps32('bare')) : '–',
      chat(r) ? times(rps32(r.key) / rps32('portkey')) : '–',
    ]))
  }

  const isDirect = (r: TargetResult) => r.key === r.direct
  lines.push('', '### Non-streaming JSON (`POST /v1/chat/completions` unless the target names another path)', '')
  lines.push(row(['target', 'c', 'req/s', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', 'server CPU µs/req', 'failed']))
  lines.push(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']))
  for (const r of run.results) {
    for (const j of r.json) {
      const d = json(r.direct, j.connections)
      lines.push(row([r.label, j.connections, int(j.rps), ms(j.latency.p50), ms(j.latency.p99), isDirect(r) ? '–' : signed(j.latency.p50 - (d?.latency.p50 ?? NaN)), isDirect(r) ? '–' : signed(j.latency.p99 - (d?.latency.p99 ?? NaN)), cpu(j.cpuUsPerRequest), j.failed]))
    }
  }

  lines.push('', '### Streams (SSE): time to first chunk (TTFC) and to the end of the stream', '')
  lines.push(row(['target', 'c', 'streams/s', 'TTFC p50', 'TTFC p99', 'full p50', 'full p99', 'TTFC added p50', 'full added p50', 'server CPU µs/stream', 'failed / incomplete']))
  lines.push(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']))
  for (const r of run.results) {
    for (const s of r.streams) {
      const d = stream(r.direct, s.connections)
      const vs = (v: number, base: number | undefined) => (isDirect(r) ? '–' : signed(v - (base ?? NaN)))
      lines.push(row([r.label, s.connections, int(s.rps), ms(s.ttfc.p50), ms(s.ttfc.p99), ms(s.latency.p50), ms(s.latency.p99), vs(s.ttfc.p50, d?.ttfc.p50), vs(s.latency.p50, d?.latency.p50), cpu(s.cpuUsPerRequest), `${s.failed} / ${s.incomplete}`]))
    }
  }
  lines.push(...renderRouting(run.results))
  lines.push(...renderNothingLost(run.results, sinkCounting(run)))
  lines.push('', 'Times in ms. "added" is the target\'s figure minus direct\'s (at the same path) at the same concurrency. "server CPU" is the CPU time (user + system, from /proc) the process under test used per request: for direct the upstream itself, otherwise the proxy or gateway alone. It moves less than requests/s with what the hypervisor steals, so it is the steadiest figure here, but it moves too.')

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
  const exporting = run.results.filter((r) => r.scrapes || r.exported)
  if (exporting.length) {
    lines.push('', 'Telemetry on, during the load: ' + exporting.map((r) =>
      `${r.label}: /metrics scraped ${r.scrapes?.ok ?? 0} times (${r.scrapes?.failed ?? 0} failed), ` +
      `the OTLP sink received ${r.exported?.traces ?? 0} trace and ${r.exported?.metrics ?? 0} metric posts (${((r.exported?.bytes ?? 0) / 2 ** 20).toFixed(1)} MiB)`).join('; ') + '.')
  }

  const p = run.provenance
  lines.push('', '### Provenance', '')
  lines.push(`- Command: \`${run.command}\` (from the repository root)`)
  lines.push(`- Date: ${p.date}`)
  lines.push(`- Machine: ${p.machine}`)
  lines.push(`- Versions: ${p.versions}`)
  lines.push(`- Load average (1, 5, 15 min) before: ${p.loadBefore}; after: ${run.loadAfter}; CPU steal during the run: ${run.steal ?? '?'}`)
  const warmC1 = run.warmC1Seconds ? `, and ${run.warmC1Seconds * run.scale} s of JSON at c=1 in unmeasured rounds of the rotation just before the c=1 slices` : ''
  lines.push('- Settings: 40 content chunks per stream (43 events, each written in its own event-loop turn by the upstream, after a 2 ms pause behind the first); every target running at once, each JSON and stream point ' + pointSeconds(run) + ' in 2 s slices, the load moving from target to target (' + rotation(run) + ') so that the changing CPU steal of the VM hits all alike, after a warm-up per target of 3 s of JSON and 2 s of streams at c=32' + warmC1 + '; memory and start-up on a fresh process per target, one at a time; gateway with `LOG_LEVEL=warn`, `UPSTREAM_MAX_RETRIES=2`, default trace store; telemetry on = `OTEL_TRACES_SAMPLER=always_on`, OTLP/proto to a sink (each process to its own path, its spans ' + sinkCounting(run) + '), metrics exported every 10 s and `/metrics` scraped every second, for every telemetry-on process; the same upstream answers `/v1/chat/completions`, `/v1/responses` and `/v1/messages` with the same text and usage (19 tokens in, 40 out)')
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
