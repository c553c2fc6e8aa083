import { writeFileSync } from 'node:fs'
import { BENCH, startUpstream } from '../procs.ts'
import { cpuTimes, loadNow, provenance, stealSince, type Provenance } from '../provenance.ts'
import { collectorCases, REQUESTS, type CollectorCase } from './collector.ts'
import { disconnectCase, type DisconnectCase } from './disconnect.ts'
import { faultsCase, type FaultsCase } from './faults.ts'
import { fuzzCase, type FuzzResult } from './fuzz.ts'
import { sigtermCase, type SigtermCase } from './sigterm.ts'

interface Report {
  provenance: Provenance
  loadAfter: string
  steal?: string
  collector?: CollectorCase[]
  sigterm?: SigtermCase
  disconnect?: DisconnectCase
  disconnectFloor?: DisconnectCase
  disconnectOff?: DisconnectCase
  faults?: FaultsCase
  fuzz?: FuzzResult
}

const pass = (ok: boolean) => (ok ? '**pass**' : '**FAIL**')
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`

function render(r: Report): string {
  const out = ['# Resilience results', '', 'Written by `npm run bench:resilience` (bench/resilience.ts); every check is bounded in time and uses loopback only.', '']
  const verdicts: Array<[string, boolean]> = []
  if (r.collector) {
    // The baseline: the collector-up run (the mean, were there several).
    const ups = r.collector.filter((c) => c.mode === 'up')
    const up = { p50: ups.reduce((s, c) => s + c.p50, 0) / ups.length, mean: ups.reduce((s, c) => s + c.mean, 0) / ups.length }
    out.push(`## Collector up, down, black-holed, slow: ${REQUESTS.toLocaleString('en-US')} requests each`, '')
    out.push('Gateway with telemetry on (100 % sampled, default batch processor: queue of 2,048 spans), c=32, JSON requests, after a 2,000-request warm-up; a gateway per mode, all four running at once and the load moving between them every 1,000 requests (order rotating), so that changes in the CPU steal of the VM hit every mode alike. Down: nothing listens at the OTLP address. Black-holed: the collector reads each post and never answers. Slow: it answers after 2 s. Ratios are against the collector-up gateway.', '')
    out.push(row(['collector', 'failed', 'p50 ms', 'p99 ms', 'mean ms', 'p50 ÷ up', 'mean ÷ up', 'RSS start → half → end (max)', 'OTLP posts received', 'spans exported / dropped (counted on /metrics)', 'span queue at the end', 'SIGTERM → exit', '']))
    out.push(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---', '---:', '---:', '---:', '---:', '---']))
    for (const c of r.collector) {
      const ratio = c.p50 / up.p50
      const flat = c.rss.end - c.rss.half <= Math.max(16 * 1024, 0.1 * c.rss.half)
      const bounded = c.spans.capacity > 0 && c.spans.queue <= c.spans.capacity
      const ok = c.failed === 0 && ratio <= 1.05 && c.mean / up.mean <= 1.05 && flat && bounded
      if (c.mode !== 'up') verdicts.push([`collector ${c.mode}`, ok])
      out.push(row([c.label, c.failed, c.p50.toFixed(3), c.p99.toFixed(3), c.mean.toFixed(3), ratio.toFixed(3), (c.mean / up.mean).toFixed(3), `${mib(c.rss.start)} → ${mib(c.rss.half)} → ${mib(c.rss.end)} (${mib(c.rss.max)})`, c.posts, `${c.spans.exported.toLocaleString('en-US')} / ${c.spans.dropped.toLocaleString('en-US')}`, `${c.spans.queue.toLocaleString('en-US')} of ${c.spans.capacity.toLocaleString('en-US')}`, `${(c.stopMs / 1000).toFixed(1)} s`, pass(ok)]))
    }
    out.push('', 'Pass: no failed request, p50 and mean latency within 5 % of the collector-up runs, RSS flat over the second half (at most +16 MiB or +10 %; the first half fills the trace store, bounded at 1,000 traces / 64 MiB), and the span queue within its capacity. Dropped spans are counted by the batch processor itself (`otel_sdk_processor_span_processed_total{error_type="queue_full"}`, read from the gateway /metrics page after the run); the gateway logs the first "Dropped N spans" of each kind once; `SIGTERM → exit` is bounded by SHUTDOWN_TIMEOUT_MS (10 s) when the collector does not answer.', '')
    const warnings = [...new Set(r.collector.flatMap((c) => c.warnings.map((w) => `${c.label}: ${w}`)))]
    if (warnings.length) out.push('What the gateway logged about it (each kind of warning once):', '', ...warnings.map((w) => `- ${w.replaceAll('|', '\\|')}`), '')
  }
  if (r.sigterm) {
    const s = r.sigterm
    const ok = s.missing === 0 && s.exitCode === 0 && s.ok > 0 && Object.keys(s.other).length === 0
    verdicts.push(['SIGTERM under load', ok])
    out.push('## SIGTERM in the middle of load', '')
    out.push('32 callers (one in four streaming) for 3 s, then SIGTERM; callers go on until refused. Spans go to the decoding OTLP receiver of test/support (own process). A stream counts as a 200 only if it ended with `[DONE]`.', '')
    out.push(row(['requests sent', '200s', 'refused after the signal', 'other answers', '200s whose llm.request or SERVER span is missing', 'spans received', 'exit code', 'SIGTERM → exit', '']))
    out.push(row(['---:', '---:', '---:', '---', '---:', '---:', '---:', '---:', '---']))
    out.push(row([s.sent, s.ok, s.refused, JSON.stringify(s.other), s.missing, s.spans, String(s.exitCode), `${(s.exitMs / 1000).toFixed(1)} s`, pass(ok)]), '')
  }
  if (r.disconnect) {
    const d = r.disconnect
    const ok = d.aborted === d.streams && d.within100ms === d.streams && Object.keys(d.leaked).length === 0
    verdicts.push(['1,000 disconnects mid-stream', ok])
    out.push('## 1,000 callers disconnecting mid-stream', '')
    out.push('Gateway with telemetry on (the first row) unless said otherwise. 1,000 streams held open by the upstream after their first chunk, then every caller destroys its socket at once. The upstream records when each request closed; handles are counted inside the gateway (bench/servers/probe.ts) after a warm-up and 2 s after the disconnects.', '')
    out.push(row(['streams', 'upstream aborts seen', 'within 100 ms', 'delay p50 / p99 / max', 'CPU per disconnect', 'cancelled (gen_ai error_type)', 'handles before', 'handles after', 'leaked', '']))
    out.push(row(['---:', '---:', '---:', '---', '---:', '---:', '---', '---', '---', '---']))
    out.push(row([d.opened, d.aborted, d.within100ms, `${d.delay.p50.toFixed(1)} / ${d.delay.p99.toFixed(1)} / ${d.delay.max.toFixed(1)} ms`, `${d.cpuUsPerDisconnect.toFixed(0)} µs`, d.cancelledMetric, JSON.stringify(d.handles.before), JSON.stringify(d.handles.after), JSON.stringify(d.leaked), pass(ok)]))
    for (const f of [r.disconnectOff, r.disconnectFloor]) {
      if (f) out.push(row([`${f.opened} (${f.target}, for reference)`, f.aborted, f.within100ms, `${f.delay.p50.toFixed(1)} / ${f.delay.p99.toFixed(1)} / ${f.delay.max.toFixed(1)} ms`, `${f.cpuUsPerDisconnect.toFixed(0)} µs`, f.target === 'bare proxy' ? '–' : f.cancelledMetric, '–', '–', f.target === 'bare proxy' ? '–' : JSON.stringify(f.leaked), '']))
    }
    out.push('')
  }
  if (r.faults) {
    const f = r.faults
    const ok = f.lost === 0 && f.attemptsAccounted && f.billedOnce
    verdicts.push(['10 % upstream faults', ok])
    out.push('## Upstream 429 / 500 / 503 / resets at 10 %', '')
    out.push(`${f.requests.toLocaleString('en-US')} requests (one in five streaming), c=32, UPSTREAM_MAX_RETRIES=${f.maxRetries}; the upstream faults 10 % of attempts (429 with retry-after-ms 5, 500, 503, reset before the headers, in turn).`, '')
    out.push(row(['answered 200', 'errors after all retries', 'lost (no answer / cut stream)', 'upstream attempts', 'faults', 'attempts = requests + retries', 'llm_requests_total', 'llm_requests_failed_total', 'tokens in / out (expected)', 'cost USD', '']))
    out.push(row(['---:', '---', '---:', '---:', '---', '---', '---:', '---:', '---', '---:', '---']))
    out.push(row([f.ok, JSON.stringify(f.errors), f.lost, f.upstream.attempts, JSON.stringify(f.upstream.faults), f.attemptsAccounted ? 'yes' : 'no', f.metrics.requests, f.metrics.failed, `${f.metrics.tokensIn} / ${f.metrics.tokensOut} (${f.expected.tokensIn} / ${f.expected.tokensOut})`, f.metrics.costUsd.toFixed(6), pass(ok)]), '')
    out.push('A request fails only when its three attempts all fault (≈ 0.1 %); it then gets the mapped error (429 with retry-after, or 502). Tokens and cost are counted once per answered request: never per attempt.', '')
  }
  if (r.fuzz) {
    const z = r.fuzz
    const ok = !z.crashed && z.families.every((f) => f.violations === 0) && z.total >= 10_000
    verdicts.push([`fuzz (${z.total.toLocaleString('en-US')} cases)`, ok])
    out.push(`## Fuzz: ${z.total.toLocaleString('en-US')} generated hostile inputs (fast-check, seed ${z.seed})`, '')
    out.push(row(['family', 'cases', 'answers', 'violations', 'examples']))
    out.push(row(['---', '---:', '---', '---:', '---']))
    for (const f of z.families) out.push(row([f.name, f.cases, JSON.stringify(f.statuses), f.violations, f.examples.map((e) => e.replaceAll('|', '\\|')).join('<br>') || '–']))
    out.push('', `Gateway crashed: ${z.crashed ? 'yes' : 'no'}; error-level log lines: ${z.errorLogs}. Rules: a caller's input is never a 5xx ("closed" = the connection was closed without a status, by Node's HTTP parser for malformed HTTP); echoed SSE-breaking content comes back exactly, in well-formed frames; hostile upstream SSE is never a 500, and the caller's stream stays well-formed and ends with [DONE] or an error event. ${pass(ok)}`, '')
  }
  out.push('## Summary', '', row(['check', 'result']), row(['---', '---']), ...verdicts.map(([name, ok]) => row([name, pass(ok)])), '')
  const p = r.provenance
  out.push('## Provenance', '', '- Command: `npm run bench:resilience` (from the repository root)', `- Date: ${p.date}`, `- Machine: ${p.machine}`, `- Versions: ${p.versions}`, `- Load average (1, 5, 15 min) before: ${p.loadBefore}; after: ${r.loadAfter}; CPU steal during the run: ${r.steal ?? '?'}`, '')
  return out.join('\n')
}

export async function main(): Promise<void> {
  const only = process.env.RESILIENCE_ONLY?.split(',').map((s) => s.trim())
  const scale = Number(process.env.BENCH_SCALE ?? 1)
  const wanted = (name: string) => !only || only.includes(name)
  const log = (line: string) => process.stderr.write(`resilience: ${line}\n`)
  const report: Report = { provenance: provenance(), loadAfter: '' }
  const cpu = cpuTimes()
  const upstream = await startUpstream()
  try {
    if (wanted('collector')) {
      report.collector = await collectorCases(upstream, log)
    }
    if (wanted('sigterm')) report.sigterm = await sigtermCase(upstream, log)
    if (wanted('disconnect')) {
      report.disconnectFloor = await disconnectCase(upstream, log, 'bare proxy')
      report.disconnectOff = await disconnectCase(upstream, log, 'gateway, telemetry off')
      report.disconnect = await disconnectCase(upstream, log)
    }
    if (wanted('faults')) report.faults = await faultsCase(upstream, log)
    if (wanted('fuzz')) report.fuzz = await fuzzCase(log, scale)
  } finally {
    await upstream.stop()
  }
  report.loadAfter = loadNow()
  report.steal = stealSince(cpu)
  writeFileSync(`${BENCH}out/resilience-${report.provenance.date.replace(/:/g, '-')}.json`, JSON.stringify(report, null, 2))
  const text = render(report)
  if (!only && scale === 1) {
    writeFileSync(`${BENCH}RESILIENCE.md`, text)
    log('written to bench/RESILIENCE.md')
  } else process.stdout.write(text)
}
