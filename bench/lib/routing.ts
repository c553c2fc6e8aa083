// The routing scenarios of `npm run bench` (issue 13), run beside the others under the same load:
//   fallback: a route group whose first target refuses every call at once (503) and whose second
//             is the bench upstream. Every call pays one failed attempt, then is served by the
//             second target. The breaker is kept shut on purpose (a failure window of 1 ms): with
//             the default cooldown the failing target would be skipped after 3 failures and the
//             scenario would measure a plain call instead of a fallback.
//   cache:    a route group with the response cache on (memory store), warmed with one JSON and one
//             streamed call, then loaded with those very requests: every answer must be a hit and
//             its upstream must see no request at all during the run.
// Both groups are named `gpt-4o-mini`, the model every scenario's body asks for, so the load is the
// same request as the direct and plain-gateway scenarios'. Each scenario's helper upstream is its
// own process, so what it saw is counted for it alone. After the load, `verify` checks the run as a
// whole from the gateway's /metrics and the upstreams' own counts, then sends a fixed batch and
// checks every answer's headers.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { metricSum } from '../../test/support/prometheus.ts'
import { chatBody } from './load.ts'
import type { Expectations, Served } from './nothing-lost.ts'
import { startGateway, startUpstream, telemetryEnv, type Proc } from './procs.ts'
import { completeStream, keepAlive, pool, post } from './resilience/http.ts'
import type { StartContext } from './scenarios.ts'

/** One thing a scenario promises, checked after its load. */
export interface Check {
  what: string
  measured: string
  ok: boolean
}

/** The model every scenario's requests name; both route groups take this name. */
const GROUP = 'gpt-4o-mini'
/** Status the first target of the fallback group answers every call with. */
const FAIL_STATUS = '503'
/** The batch sent after the load, every answer's headers checked: one in five streams. */
const BATCH = 1_000
const BATCH_CONCURRENCY = 32

/** Helper upstreams, started on first use and kept for the whole run (a fresh gateway reuses them). */
const helpers = new Map<string, Promise<Proc>>()
function helper(name: string, env: Record<string, string> = {}): Promise<Proc> {
  if (!helpers.has(name)) helpers.set(name, startUpstream(env))
  return helpers.get(name)!
}

export async function stopRoutingHelpers(): Promise<void> {
  for (const proc of helpers.values()) await (await proc).stop()
  helpers.clear()
}

const dir = mkdtempSync(join(tmpdir(), 'bench-routing-'))
/**
 * The fallback scenario's GATEWAY_CONFIG (also bench/fallback-ab.ts's and perf-threads.ts's): the
 * route group `gpt-4o-mini` whose target 1 (`down`, an upstream that refuses every call) fails
 * every call, its breaker kept shut, and whose target 2 (`up`) serves.
 */
export function fallbackConfig(down: string, up: string): unknown {
  return {
    providers: { 'bench-down': { baseURL: `${down}/v1` }, 'bench-up': { baseURL: `${up}/v1` } },
    routes: {
      [GROUP]: {
        strategy: 'fallback',
        targets: [
          { provider: 'bench-down', model: GROUP },
          { provider: 'bench-up', model: GROUP },
        ],
        cooldown: { failures: 1000, windowMs: 1, cooldownMs: 1 },
      },
    },
  }
}

function configFile(name: string, config: unknown): string {
  const file = join(dir, `${name}.json`)
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

const stats = async (proc: Proc) => (await fetch(`${proc.url}/__bench/stats`).then((r) => r.json())) as { requests: number }
const metrics = async (proc: Proc) => fetch(`${proc.url}/metrics`).then((r) => r.text())
/** Calls that ended because the caller left (the gen_ai duration histogram carries error.type). */
const cancelled = (text: string) => metricSum(text, 'gen_ai_client_operation_duration_count', { error_type: 'cancelled' })
const int = (n: number) => Math.round(n).toLocaleString('en-US')

/** The batch: BATCH requests, every fifth streaming; each answer checked by `good`. */
async function batch(gateway: Proc, served: Served, good: (answer: Awaited<ReturnType<typeof post>>, stream: boolean) => boolean): Promise<number> {
  const agent = keepAlive(BATCH_CONCURRENCY)
  try {
    const answers = await pool(BATCH, BATCH_CONCURRENCY, (i) => post(agent, `${gateway.url}/v1/chat/completions`, chatBody(i % 5 === 4)))
    served.add(BATCH, answers.filter((answer) => answer.status !== 0).length)
    return answers.filter((answer, i) => !good(answer, i % 5 === 4)).length
  } finally {
    agent.destroy()
  }
}

const answered = (answer: Awaited<ReturnType<typeof post>>, stream: boolean) => answer.status === 200 && (!stream || completeStream(answer.body))

export const fallbackScenario = {
  key: 'fallback',
  label: `gateway, fallback (target 1 answers ${FAIL_STATUS})`,
  telemetry: {
    charged: true,
    // Every call's first attempt (its provider span and undici's POST) fails; a fallback adds the second's.
    spans: (metrics, sent) => {
      const fallbacks = metricSum(metrics, 'llm_fallbacks_total')
      return { spans: sent * 4 + fallbacks * 2, how: `${int(sent)} requests × 4 + ${int(fallbacks)} fallbacks × 2` }
    },
  } satisfies Expectations,
  async start({ upstream, otlp, nodeArgs }: StartContext): Promise<Proc> {
    const down = await helper('down', { BENCH_FAIL_STATUS: FAIL_STATUS })
    const file = configFile('fallback', fallbackConfig(down.url, upstream.url))
    return startGateway(upstream.url, { ...telemetryEnv('on', otlp), GATEWAY_CONFIG: file }, nodeArgs)
  },
  async verify(gateway: Proc, served: Served): Promise<Check[]> {
    const down = await helper('down')
    const text = await metrics(gateway)
    const calls = metricSum(text, 'llm_requests_total')
    const failed = metricSum(text, 'llm_requests_failed_total')
    const servedUp = calls - failed - (metricSum(text, 'llm_requests_total', { llm_provider: 'bench-down' }) - metricSum(text, 'llm_requests_failed_total', { llm_provider: 'bench-down' }))
    const servedDown = calls - failed - servedUp
    const fallbacks = metricSum(text, 'llm_fallbacks_total')
    const refused = (await stats(down)).requests
    // A caller that leaves while its call is still on target 1 (the load generator stops at the end
    // of each slice with calls in flight) is a cancelled call recorded under target 1, without a fallback.
    const leftOnDown = metricSum(text, 'llm_requests_failed_total', { llm_provider: 'bench-down' })
    const checks: Check[] = [
      { what: 'whole run: calls answered by target 1 (llm_requests_total − failed, llm_provider="bench-down")', measured: int(servedDown), ok: servedDown === 0 },
      { what: 'whole run: calls = requests target 1 refused', measured: `${int(calls)} = ${int(refused)}`, ok: calls === refused },
      {
        what: 'whole run: llm_fallbacks_total = calls − calls whose caller left during the attempt on target 1',
        measured: `${int(fallbacks)} = ${int(calls)} − ${int(leftOnDown)}`,
        ok: fallbacks === calls - leftOnDown,
      },
      { what: 'whole run: failed calls (all cancelled: callers that left at the end of a load slice)', measured: int(failed), ok: failed === cancelled(text) },
    ]
    const before = { fallbacks, refused, servedUp: metricSum(text, 'llm_requests_total', { llm_provider: 'bench-up' }) }
    const wrong = await batch(gateway, served, (answer, stream) => answered(answer, stream) && answer.headers['x-gateway-target'] === `bench-up/${GROUP}`)
    const after = await metrics(gateway)
    const delta = {
      fallbacks: metricSum(after, 'llm_fallbacks_total') - before.fallbacks,
      refused: (await stats(down)).requests - before.refused,
      servedUp: metricSum(after, 'llm_requests_total', { llm_provider: 'bench-up' }) - before.servedUp,
    }
    checks.push(
      { what: `batch of ${int(BATCH)}: answers without 200 and \`x-gateway-target: bench-up/${GROUP}\``, measured: int(wrong), ok: wrong === 0 },
      {
        what: `batch of ${int(BATCH)}: llm_fallbacks_total, target 1's refusals, calls served by target 2 (deltas)`,
        measured: `${int(delta.fallbacks)}, ${int(delta.refused)}, ${int(delta.servedUp)}`,
        ok: delta.fallbacks === BATCH && delta.refused === BATCH && delta.servedUp === BATCH,
      },
    )
    return checks
  },
}

export const cacheScenario = {
  key: 'cache',
  label: 'gateway, response cache hit',
  /** Every stream is a replay that ends at once: none can be held open to weigh it. */
  holdsStreams: false,
  telemetry: {
    charged: false,
    // A hit never leaves the gateway: its SERVER span and llm.request; a miss is a plain call.
    spans: (metrics, sent) => {
      const misses = metricSum(metrics, 'llm_response_cache_misses_total')
      return { spans: sent * 2 + misses * 2, how: `${int(sent)} requests × 2 + ${int(misses)} misses × 2` }
    },
  } satisfies Expectations,
  async start({ upstream, otlp, nodeArgs, served }: StartContext): Promise<Proc> {
    const cached = await helper('cached')
    const file = configFile('cache', {
      providers: { 'bench-cached': { baseURL: `${cached.url}/v1` } },
      routes: { [GROUP]: { targets: [{ provider: 'bench-cached', model: GROUP }], cache: { ttlSeconds: 3600 } } },
      // gpt-4o-mini's price, so that a hit has a saving to record.
      prices: { [`bench-cached/${GROUP}`]: { input: 0.15, output: 0.6 } },
    })
    const gateway = await startGateway(upstream.url, { ...telemetryEnv('on', otlp), GATEWAY_CONFIG: file }, nodeArgs)
    // Warm once: the JSON and the streamed request of the load, each a miss that is kept.
    const agent = keepAlive(1)
    for (const stream of [false, true]) {
      const answer = await post(agent, `${gateway.url}/v1/chat/completions`, chatBody(stream))
      served.add(1, answer.status !== 0 ? 1 : 0)
      if (!answered(answer, stream) || answer.headers['x-gateway-cache'] !== 'miss') {
        agent.destroy()
        await gateway.stop()
        throw new Error(`cache scenario: warming ${stream ? 'stream' : 'JSON'}: ${answer.status} x-gateway-cache=${String(answer.headers['x-gateway-cache'])} ${answer.body.slice(0, 200)}`)
      }
    }
    agent.destroy()
    // From here on, the upstream must not be called.
    await fetch(`${cached.url}/__bench/reset`, { method: 'POST', body: '{}' })
    return gateway
  },
  async verify(gateway: Proc, served: Served): Promise<Check[]> {
    const cached = await helper('cached')
    const text = await metrics(gateway)
    const calls = metricSum(text, 'llm_requests_total')
    const failed = metricSum(text, 'llm_requests_failed_total')
    const hits = metricSum(text, 'llm_response_cache_hits_total')
    const misses = metricSum(text, 'llm_response_cache_misses_total')
    const upstreamRun = (await stats(cached)).requests
    const checks: Check[] = [
      { what: 'whole run: upstream requests after the warm-up', measured: int(upstreamRun), ok: upstreamRun === 0 },
      {
        what: 'whole run: llm_response_cache_hits_total = calls − 2 warm-up misses − failed; misses',
        measured: `${int(hits)} = ${int(calls)} − 2 − ${int(failed)}; ${int(misses)}`,
        ok: hits === calls - 2 - failed && misses === 2,
      },
      { what: 'whole run: failed calls (all cancelled: callers that left at the end of a load slice)', measured: int(failed), ok: failed === cancelled(text) },
    ]
    const spent = (t: string) => ({
      hits: metricSum(t, 'llm_response_cache_hits_total'),
      tokens: metricSum(t, 'llm_tokens_input_total') + metricSum(t, 'llm_tokens_output_total'),
      cost: metricSum(t, 'llm_cost_total_usd'),
      saved: metricSum(t, 'llm_response_cache_saved_usd'),
    })
    const before = spent(text)
    const wrong = await batch(gateway, served, (answer, stream) => answered(answer, stream) && answer.headers['x-gateway-cache'] === 'hit')
    const after = spent(await metrics(gateway))
    const upstreamCalls = (await stats(cached)).requests
    const delta = { hits: after.hits - before.hits, tokens: after.tokens - before.tokens, cost: after.cost - before.cost, saved: after.saved - before.saved }
    checks.push(
      { what: `batch of ${int(BATCH)}: answers without 200 and \`x-gateway-cache: hit\``, measured: int(wrong), ok: wrong === 0 },
      {
        what: `batch of ${int(BATCH)}: llm_response_cache_hits_total (delta); upstream requests`,
        measured: `${int(delta.hits)}; ${int(upstreamCalls)}`,
        ok: delta.hits === BATCH && upstreamCalls === 0,
      },
      {
        what: `batch of ${int(BATCH)}: tokens and cost recorded (deltas); llm_response_cache_saved_usd (delta)`,
        measured: `${int(delta.tokens)} tokens, $${delta.cost.toFixed(6)}; $${delta.saved.toFixed(6)}`,
        ok: delta.tokens === 0 && delta.cost === 0 && delta.saved > 0,
      },
    )
    return checks
  },
}
