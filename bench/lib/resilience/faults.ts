// The upstream answers 10 % of its requests with a fault (429, 500, 503 or a reset before the
// headers, in turn). With UPSTREAM_MAX_RETRIES=2 every request must come back (a 200, or the
// mapped error once three attempts failed), and the metrics must count each caller's request
// once: tokens and cost for the answered ones only, never per attempt.
import { chatBody } from '../load.ts'
import { startGateway, startOtlpSink, type Proc } from '../procs.ts'
import { metricSum } from '../../../test/support/prometheus.ts'
import { completeStream, keepAlive, pool, post } from './http.ts'

const JSON_REQUESTS = 4_000
const STREAM_REQUESTS = 1_000
const CONCURRENCY = 32
/** What the bench upstream reports per answered request. */
const PROMPT_TOKENS = 19
const COMPLETION_TOKENS = Number(process.env.BENCH_STREAM_CHUNKS ?? 40)

export interface FaultsCase {
  faultRate: number
  maxRetries: number
  requests: number
  ok: number
  /** Errors the caller got, by status, once every attempt had failed. */
  errors: Record<string, number>
  /** Transport failures or cut streams at the caller: requests lost. */
  lost: number
  upstream: { attempts: number; faults: Record<string, number> }
  /** attempts = requests + retries, and faults = retries + errors returned. */
  attemptsAccounted: boolean
  metrics: { requests: number; failed: number; tokensIn: number; tokensOut: number; costUsd: number }
  expected: { tokensIn: number; tokensOut: number }
  billedOnce: boolean
}

export async function faultsCase(upstream: Proc, log: (line: string) => void): Promise<FaultsCase> {
  const control = (path: string, body?: unknown) =>
    fetch(`${upstream.url}/__bench/${path}`, { method: 'POST', body: JSON.stringify(body ?? {}) }).then((r) => r.json())
  const sink = await startOtlpSink()
  const gateway = await startGateway(upstream.url, { UPSTREAM_MAX_RETRIES: '2', OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url })
  const agent = keepAlive(CONCURRENCY)
  const url = `${gateway.url}/v1/chat/completions`
  try {
    await control('reset')
    await control('config', { faultRate: 0.1 })
    const total = JSON_REQUESTS + STREAM_REQUESTS
    const answers = await pool(total, CONCURRENCY, (i) => post(agent, url, chatBody(i % 5 === 4)))
    await control('config', { faultRate: 0 })
    const stats = (await fetch(`${upstream.url}/__bench/stats`).then((r) => r.json())) as { requests: number; faults: Record<string, number> }
    let ok = 0
    let lost = 0
    const errors: Record<string, number> = {}
    answers.forEach((answer, i) => {
      const stream = i % 5 === 4
      if (answer.error || answer.status === 0) lost++
      else if (answer.status !== 200) errors[answer.status] = (errors[answer.status] ?? 0) + 1
      else if (stream && !completeStream(answer.body)) lost++
      else ok++
    })
    const returnedErrors = Object.values(errors).reduce((a, b) => a + b, 0)
    const faults = Object.values(stats.faults).reduce((a, b) => a + b, 0)
    const retries = faults - returnedErrors
    const text = await fetch(`${gateway.url}/metrics`).then((r) => r.text())
    const metrics = {
      requests: metricSum(text, 'llm_requests_total'),
      failed: metricSum(text, 'llm_requests_failed_total'),
      tokensIn: metricSum(text, 'llm_tokens_input_total'),
      tokensOut: metricSum(text, 'llm_tokens_output_total'),
      costUsd: metricSum(text, 'llm_cost_total_usd'),
    }
    const expected = { tokensIn: ok * PROMPT_TOKENS, tokensOut: ok * COMPLETION_TOKENS }
    const result: FaultsCase = {
      faultRate: 0.1,
      maxRetries: 2,
      requests: total,
      ok,
      errors,
      lost,
      upstream: { attempts: stats.requests, faults: stats.faults },
      attemptsAccounted: stats.requests === total + retries,
      metrics,
      expected,
      billedOnce:
        metrics.requests === total &&
        metrics.failed === returnedErrors &&
        metrics.tokensIn === expected.tokensIn &&
        metrics.tokensOut === expected.tokensOut,
    }
    log(`faults: ${ok} ok, errors ${JSON.stringify(errors)}, lost ${lost}; upstream ${stats.requests} attempts, faults ${JSON.stringify(stats.faults)}; metrics ${JSON.stringify(metrics)}`)
    return result
  } finally {
    agent.destroy()
    await control('config', { faultRate: 0 })
    await gateway.stop()
    await sink.stop()
  }
}
