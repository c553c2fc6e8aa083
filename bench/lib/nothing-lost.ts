// "Nothing lost" (issue 15), checked on every gateway process that ran with telemetry on, once its
// load is over: every request's spans exported or counted as dropped, every metric equal to what
// the answers reported, and the OTLP metric push equal to /metrics.
//
// What is compared with what:
// - Requests: the load generator's own counts. `sent` = answered + cut: autocannon ends each JSON
//   slice by closing its connections, cutting the requests then out; the gateway saw each of them
//   (its caller left: a cancelled call if the upstream had not answered yet, a completed one if it
//   had) and ends their spans like any other's. Streams and batches are never cut.
// - Spans: what the OTLP sink received from this process alone (it exports to its own path under
//   the sink) after the process was stopped with SIGTERM and flushed, plus what the gateway counted
//   as not exported on /metrics (`otel_sdk_processor_span_processed_total` with an `error_type`:
//   dropped from a full queue, or a failed export), against the spans its requests leave.
// - Tokens: in a batch sent after the load, the sum of the usage every answer reports against the
//   deltas of llm_tokens_*_total; over the whole run, each call the upstream answered charged the
//   upstream's fixed usage once.
import { metricSum } from '../../test/support/prometheus.ts'
import { INPUT_TOKENS, CHUNKS } from '../servers/upstream-apis.ts'
import type { Ingress } from './ingress.ts'
import type { Proc } from './procs.ts'
import { keepAlive, pool, post } from './resilience/http.ts'
import type { Check } from './routing.ts'

/** What the load generator sent one gateway process over its life, and how many it got an answer to. */
export class Served {
  sent = 0
  answered = 0
  add(sent: number, answered: number): void {
    this.sent += sent
    this.answered += answered
  }
}

/** The spans one process's requests leave, from its /metrics at the end (a fallback: two spans per extra attempt). */
export type SpanBudget = (metrics: string, sent: number) => { spans: number; how: string }

/** SPEC's tree: the SERVER span, `llm.request`, the provider's CLIENT span and undici's `POST`. */
export const FOUR_SPANS: SpanBudget = (_metrics, sent) => ({ spans: sent * 4, how: `${int(sent)} requests × 4` })

export interface Expectations {
  spans: SpanBudget
  /** False: answers are cache replays, charged nothing. */
  charged: boolean
}

const BATCH = 500
const BATCH_CONCURRENCY = 16
const int = (n: number) => Math.round(n).toLocaleString('en-US')
const metrics = (proc: Proc) => fetch(`${proc.url}/metrics`).then((r) => r.text())
const tokens = (text: string) => ({ input: metricSum(text, 'llm_tokens_input_total'), output: metricSum(text, 'llm_tokens_output_total') })

/**
 * A batch of BATCH requests (one in five streaming) asking every answer for its usage: the gateway's
 * request and token counters must move by exactly the requests and the usage the answers report.
 */
export async function usageBatch(gateway: Proc, ingress: Ingress, expect: Expectations, served: Served): Promise<Check[]> {
  const before = await metrics(gateway)
  const agent = keepAlive(BATCH_CONCURRENCY)
  const answers = await pool(BATCH, BATCH_CONCURRENCY, (i) => post(agent, gateway.url + ingress.path, ingress.body(i % 5 === 4, expect.charged), ingress.headers)).finally(() => agent.destroy())
  const after = await metrics(gateway)
  served.add(BATCH, answers.filter((a) => a.status !== 0).length)
  const reported = { input: 0, output: 0, missing: 0 }
  answers.forEach((answer, i) => {
    if (answer.status !== 200) return void reported.missing++
    // A cache replay of a stream says no usage unless its request asked; none is charged anyway.
    if (!expect.charged) return
    const usage = ingress.usage(answer.body, i % 5 === 4)
    if (!usage) return void reported.missing++
    reported.input += usage.input
    reported.output += usage.output
  })
  const calls = metricSum(after, 'llm_requests_total') - metricSum(before, 'llm_requests_total')
  const [was, now] = [tokens(before), tokens(after)]
  const recorded = { input: now.input - was.input, output: now.output - was.output }
  const want = expect.charged ? reported : { input: 0, output: 0 }
  return [
    {
      what: `batch of ${int(BATCH)}: llm_requests_total (delta) = requests; answers without 200${expect.charged ? ' and usage' : ''}`,
      measured: `${int(calls)} = ${int(BATCH)}; ${int(reported.missing)}`,
      ok: calls === BATCH && reported.missing === 0,
    },
    {
      what: `batch of ${int(BATCH)}: llm_tokens_input_total, llm_tokens_output_total (deltas) = ${expect.charged ? 'the usage the answers report' : '0 (cache replays are not charged)'}`,
      measured: `${int(recorded.input)} = ${int(want.input)}, ${int(recorded.output)} = ${int(want.output)}`,
      ok: recorded.input === want.input && recorded.output === want.output,
    },
  ]
}

/** OTLP metric name → the Prometheus series it is on /metrics (histograms by their count). */
const PUSHED: Array<[string, string]> = [
  ['llm.requests', 'llm_requests_total'],
  ['llm.requests.failed', 'llm_requests_failed_total'],
  ['llm.tokens.input', 'llm_tokens_input_total'],
  ['llm.tokens.output', 'llm_tokens_output_total'],
  ['llm.cost.total_usd', 'llm_cost_total_usd'],
  ['gen_ai.client.operation.duration', 'gen_ai_client_operation_duration_count'],
]

interface SinkView {
  traces: number
  metrics: number
  bytes: number
  spans: { total: number; byName: Record<string, number> }
  undecodable: number
  lastMetrics: Record<string, number>
}

/**
 * The whole run of one process: reads its /metrics a last time, stops it with SIGTERM (it flushes
 * its spans and pushes its metrics a last time), then compares with what the sink received under `key`.
 */
export async function wholeRun(gateway: Proc, sinkUrl: string, key: string, served: Served, expect: Expectations): Promise<{ checks: Check[]; exported: { traces: number; metrics: number; bytes: number } }> {
  const text = await metrics(gateway)
  const code = await gateway.stop('SIGTERM')
  const sink = (await fetch(`${sinkUrl}/${encodeURIComponent(key)}`).then((r) => r.json())) as SinkView
  const calls = metricSum(text, 'llm_requests_total')
  const failed = metricSum(text, 'llm_requests_failed_total')
  const cancelled = metricSum(text, 'gen_ai_client_operation_duration_count', { error_type: 'cancelled' })
  const hits = metricSum(text, 'llm_response_cache_hits_total')
  const cut = served.sent - served.answered
  const charged = calls - failed - hits
  const { input, output } = tokens(text)
  const processed = [...text.matchAll(/^otel_sdk_processor_span_processed_total\{([^}]*)\} (\S+)$/gm)]
  const notExported = processed.filter(([, labels]) => labels!.includes('error_type=')).reduce((n, [, , value]) => n + Number(value), 0)
  const budget = expect.spans(text, served.sent)
  const byName = Object.entries(sink.spans.byName).sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => `${name}: ${int(n)}`).join(', ')
  const pushed = PUSHED.map(([otlp, prometheus]) => ({ otlp, pushed: sink.lastMetrics[otlp] ?? 0, scraped: metricSum(text, prometheus) }))
  const same = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
  const checks: Check[] = [
    { what: 'stopped with SIGTERM: exit code (its last spans and metrics flushed on the way out)', measured: String(code), ok: code === 0 },
    {
      what: 'whole run: llm_requests_total = requests the load generator sent (answered + cut at the end of a slice)',
      measured: `${int(calls)} = ${int(served.answered)} + ${int(cut)}`,
      ok: calls === served.sent,
    },
    {
      what: 'whole run: failed calls = cancelled (error_type) ≤ requests cut',
      measured: `${int(failed)} = ${int(cancelled)} ≤ ${int(cut)}`,
      ok: failed === cancelled && failed <= cut,
    },
    {
      what: `whole run: llm_tokens_input_total, llm_tokens_output_total = the upstream's usage (${INPUT_TOKENS} in, ${CHUNKS} out) × calls it answered (calls − failed − cache hits)`,
      measured: `${int(input)} = ${INPUT_TOKENS} × ${int(charged)}, ${int(output)} = ${CHUNKS} × ${int(charged)}`,
      ok: input === INPUT_TOKENS * charged && output === CHUNKS * charged,
    },
    {
      what: `whole run: spans received by the OTLP sink + counted as not exported on /metrics = spans the requests leave (${budget.how})`,
      measured: `${int(sink.spans.total)} + ${int(notExported)} = ${int(budget.spans)} (${byName}${sink.undecodable ? `; ${int(sink.undecodable)} posts not valid OTLP` : ''})`,
      ok: sink.spans.total + notExported === budget.spans && sink.undecodable === 0,
    },
    {
      what: `the OTLP metric push's last values = /metrics at the end (${PUSHED.map(([otlp]) => otlp).join(', ')})`,
      measured: pushed.map((p) => `${p.otlp === 'llm.cost.total_usd' ? p.pushed.toFixed(6) : int(p.pushed)} = ${p.otlp === 'llm.cost.total_usd' ? p.scraped.toFixed(6) : int(p.scraped)}`).join(', '),
      ok: sink.metrics > 0 && pushed.every((p) => same(p.pushed, p.scraped)),
    },
  ]
  return { checks, exported: { traces: sink.traces, metrics: sink.metrics, bytes: sink.bytes } }
}
