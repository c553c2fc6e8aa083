// End to end with a real Prometheus (Debian's): the gateway, with OpenAI and Anthropic replaced by
// the upstream emulator, serves chat, streaming, Anthropic, failing and reasoning-agent traffic;
// Prometheus scrapes its /metrics every second with deploy/prometheus/prometheus.local.yml and
// the alert rules loaded. Then every PromQL query and alert of the guide's "Understanding Your
// Data" section, every alert rule and every panel query of the Grafana dashboard runs against
// Prometheus' HTTP API: each returns data with the labels it should carry (or, for the guide's
// queries that cannot, is shown to return nothing, next to the corrected query that does), and the
// token and cost sums equal what the responses said they used.
//
// The traffic runs twice, a scrape apart: rate() and increase() need a series to grow between two
// samples, and a series first appears only after its first request.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { stringify } from 'yaml'
import { startGateway, type GatewayProcess, type OpenAIUsage } from '../support/gateway.ts'
import { openaiStreamChunks, startUpstream, type Upstream } from '../support/upstream.ts'
import {
  alertRules,
  byLabels,
  dashboardTargets,
  legendLabels,
  missing,
  paths,
  promqlBlocks,
  promQuery,
  readmeDockerSection,
  readYaml,
  splitThreshold,
  which,
  withModel,
  type QueryAnswer,
  type Series,
} from './helpers.ts'

/** A subtest's `t`. */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

// ---------------------------------------------------------------------------------------------
// The guide's queries ("Understanding Your Data": Key Metrics to Monitor, Common Queries — In
// Prometheus and In Grafana), verbatim, plus the four of "Query Your Metrics" in its stack set-up.
// Each either returns data with `labels`, or is `wrong` (selects nothing, whatever the traffic)
// with the query that does what it meant; a `caveat` returns data but not what its comment says.

interface GuideQuery {
  section: string
  promql: string
  /** Labels every series of the answer carries (of `corrected` when the guide's is wrong). */
  labels: string[]
  wrong?: { why: string; corrected: string }
  caveat?: { why: string; better: string }
}

const GUIDE: GuideQuery[] = [
  {
    section: 'Performance Metrics: request latency',
    promql: 'llm_request_duration_seconds',
    labels: ['llm_model', 'llm_provider'],
    wrong: {
      why: 'a histogram is stored as _bucket, _sum and _count series; no series has the bare name',
      corrected: 'sum by (llm_model, llm_provider) (rate(llm_request_duration_seconds_sum[5m])) / sum by (llm_model, llm_provider) (rate(llm_request_duration_seconds_count[5m]))',
    },
  },
  // llm_requests_total carries exactly the token counters' labels, so these pair one to one.
  { section: 'Performance Metrics: avg input tokens/request', promql: 'rate(llm_tokens_input_total[5m]) / rate(llm_requests_total[5m])', labels: ['llm_model', 'llm_provider'] },
  { section: 'Performance Metrics: avg output tokens/request', promql: 'rate(llm_tokens_output_total[5m]) / rate(llm_requests_total[5m])', labels: ['llm_model', 'llm_provider'] },
  { section: 'Performance Metrics: cost tracking', promql: 'llm_cost_total_usd', labels: ['llm_model', 'llm_provider'] },
  {
    section: 'Performance Metrics: cost per hour',
    promql: 'rate(llm_cost_total_usd[1h])',
    labels: ['llm_model', 'llm_provider'],
    caveat: { why: 'rate() is USD per second, not per hour', better: 'rate(llm_cost_total_usd[1h]) * 3600' },
  },
  {
    section: 'Performance Metrics: cache efficiency',
    promql: 'llm_cache_read_tokens_total / (llm_cache_read_tokens_total + llm_tokens_input_total)',
    labels: ['llm_model', 'llm_provider'],
    caveat: {
      why: 'llm_tokens_input_total already includes the cached tokens (GenAI convention), so they are counted twice',
      better: 'llm_cache_read_tokens_total / llm_tokens_input_total',
    },
  },
  {
    section: 'ReasoningAgent Metrics: avg iterations per request',
    promql: 'rate(llm_reasoning_iterations_total[5m]) / rate(llm_reasoning_requests_total[5m])',
    labels: ['llm_model', 'llm_provider', 'reasoning_effort'],
  },
  { section: 'ReasoningAgent Metrics: tool usage', promql: 'llm_reasoning_tool_calls_total', labels: ['llm_model', 'llm_provider', 'reasoning_effort'] },
  {
    section: 'ReasoningAgent Metrics: tool calls per minute',
    promql: 'rate(llm_reasoning_tool_calls_total[5m])',
    labels: ['llm_model', 'llm_provider', 'reasoning_effort'],
    caveat: { why: 'rate() is per second, not per minute', better: 'rate(llm_reasoning_tool_calls_total[5m]) * 60' },
  },
  {
    section: 'ReasoningAgent Metrics: success rate',
    promql: 'rate(llm_reasoning_success_total[5m]) / rate(llm_reasoning_requests_total[5m])',
    labels: ['llm_model', 'llm_provider', 'reasoning_effort'],
  },
  {
    section: 'In Prometheus: average response time by model',
    promql: 'avg by (llm_model) (llm_request_duration_seconds)',
    labels: ['llm_model'],
    wrong: {
      why: 'no series is named llm_request_duration_seconds (a histogram); the mean is _sum over _count',
      corrected: 'sum by (llm_model) (rate(llm_request_duration_seconds_sum[5m])) / sum by (llm_model) (rate(llm_request_duration_seconds_count[5m]))',
    },
  },
  { section: 'In Prometheus: token usage over time (input)', promql: 'rate(llm_tokens_input_total[5m])', labels: ['llm_model', 'llm_provider'] },
  { section: 'In Prometheus: token usage over time (output)', promql: 'rate(llm_tokens_output_total[5m])', labels: ['llm_model', 'llm_provider'] },
  {
    section: 'In Prometheus: cost analysis',
    promql: 'sum by (llm_model, llm_provider) (rate(llm_cost_total_usd[1h]))',
    labels: ['llm_model', 'llm_provider'],
    caveat: { why: 'USD per second averaged over the hour; the hour\'s spend is increase()', better: 'sum by (llm_model, llm_provider) (increase(llm_cost_total_usd[1h]))' },
  },
  { section: 'In Prometheus: request rate', promql: 'rate(llm_requests_total[5m])', labels: ['llm_model', 'llm_provider'] },
  // llm_requests_failed_total has the same two labels: each model's failures over its requests.
  { section: 'In Prometheus: error rate', promql: 'rate(llm_requests_failed_total[5m]) / rate(llm_requests_total[5m])', labels: ['llm_model', 'llm_provider'] },
  {
    section: 'In Prometheus: reasoning iteration patterns',
    promql: 'avg by (reasoning_effort) (llm_reasoning_iterations_total)',
    labels: ['reasoning_effort'],
    caveat: {
      why: 'averages cumulative totals across models, not iterations per run',
      better: 'sum by (reasoning_effort) (increase(llm_reasoning_iterations_total[5m])) / sum by (reasoning_effort) (increase(llm_reasoning_requests_total[5m]))',
    },
  },
  { section: 'In Grafana: time series (model variable set to gpt-4o-mini)', promql: 'rate(llm_tokens_input_total{llm_model="$model"}[5m])', labels: ['llm_model', 'llm_provider'] },
  {
    section: 'In Grafana: p95 latency',
    promql: 'histogram_quantile(0.95, llm_request_duration_seconds_bucket)',
    labels: ['llm_model', 'llm_provider'],
    caveat: {
      why: 'without rate() it is the p95 of every request since the gateway started, per series',
      better: 'histogram_quantile(0.95, sum by (llm_model, llm_provider, le) (rate(llm_request_duration_seconds_bucket[5m])))',
    },
  },
  {
    section: 'In Grafana: daily cost',
    promql: 'sum(rate(llm_cost_total_usd[24h])) * 24',
    labels: [],
    caveat: { why: 'a per-second rate times 24 is neither a day\'s nor an hour\'s spend', better: 'sum(increase(llm_cost_total_usd[24h]))' },
  },
  {
    section: 'In Grafana: average latency',
    promql: 'avg(llm_request_duration_seconds)',
    labels: [],
    wrong: {
      why: 'no series is named llm_request_duration_seconds (a histogram)',
      corrected: 'sum(rate(llm_request_duration_seconds_sum[5m])) / sum(rate(llm_request_duration_seconds_count[5m]))',
    },
  },
  // "Step 5: Query Your Metrics" of the stack set-up; the README's walk-through points to them too.
  { section: 'Query Your Metrics', promql: 'llm_tokens_input_total', labels: ['llm_model', 'llm_provider'] },
  { section: 'Query Your Metrics', promql: 'rate(llm_cost_total_usd[5m])', labels: ['llm_model', 'llm_provider'] },
  { section: 'Query Your Metrics', promql: 'sum by (llm_model) (llm_tokens_output_total)', labels: ['llm_model'] },
]

/** The guide's four alert expressions ("Setting Up Alerts"), verbatim. */
const GUIDE_ALERTS = {
  LLMHighLatency: 'llm_request_duration_seconds > 10',
  LLMHighCost: 'rate(llm_cost_total_usd[5m]) > 0.10',
  LLMHighErrorRate: 'rate(llm_requests_failed_total[5m]) / rate(llm_requests_total[5m]) > 0.05',
  ReasoningTooManyIterations: 'llm_reasoning_iterations_total > 10',
} as const

// ---------------------------------------------------------------------------------------------

const PROVIDERS = new Set(['openai', 'anthropic', 'demo'])
const EFFORTS = new Set(['low', 'medium', 'high'])

interface Used {
  provider: string
  /** LLM calls: chat requests, failed ones included, and one per agent iteration. */
  calls: number
  failed: number
  input: number
  output: number
  cacheRead: number
  cacheWrite: number
  cost: number
}

interface Run {
  effort: string
  iterations: number
  toolCalls: number
  answered: boolean
}

interface Answer {
  status: number
  json: Record<string, unknown>
  chunks: Array<Record<string, unknown>>
}

async function post(base: string, path: string, body: unknown): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await response.text()
  const stream = (response.headers.get('content-type') ?? '').includes('text/event-stream')
  return {
    status: response.status,
    json: stream ? {} : (JSON.parse(text) as Record<string, unknown>),
    chunks: stream ? (openaiStreamChunks(text) as unknown as Array<Record<string, unknown>>) : [],
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, diagnostics: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${diagnostics()}`)
    await sleep(150)
  }
}

// ---------------------------------------------------------------------------------------------

const prometheusBin = which('prometheus')

if (!prometheusBin) {
  t.test('Prometheus end to end', { skip: missing('prometheus') }, async () => {})
} else {
  t.setTimeout(120_000)
  const began = performance.now()
  const used = new Map<string, Used>()
  const runs: Run[] = []
  const account = (model: string, provider: string): Used => {
    let u = used.get(model)
    if (!u) used.set(model, (u = { provider, calls: 0, failed: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0 }))
    return u
  }
  const addUsage = (model: string, provider: string, usage: OpenAIUsage | undefined) => {
    if (!usage) throw new Error(`no usage for ${model}`)
    const u = account(model, provider)
    u.input += usage.prompt_tokens
    u.output += usage.completion_tokens
    u.cacheRead += usage.prompt_tokens_details?.cached_tokens ?? 0
    u.cacheWrite += usage.cache_creation_input_tokens ?? 0
    u.cost += usage.cost_usd ?? Number.NaN
  }

  let upstream: Upstream | undefined
  let gateway: GatewayProcess | undefined
  let prometheus: ChildProcess | undefined
  const prometheusLines: string[] = []
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-e2e-'))
  t.teardown(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve))
      prometheus.kill('SIGTERM')
      await Promise.race([exited, sleep(10_000, undefined, { ref: false }).then(() => prometheus!.kill('SIGKILL'))])
    }
    await gateway?.stop()
    await upstream?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  upstream = await startUpstream()
  const up = upstream
  // The gateway's port is chosen here so that Prometheus can start alongside it.
  const [gatewayPort, promPort] = [await freePort(), await freePort()]
  const prom = `http://127.0.0.1:${promPort}`

  // deploy/prometheus/prometheus.local.yml, pointed at this gateway, every second.
  const config = readYaml(paths.prometheusLocal) as {
    global: Record<string, string>
    rule_files: string[]
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>
  }
  config.global.scrape_interval = '1s'
  config.global.evaluation_interval = '1s'
  config.rule_files = config.rule_files.map((f) => join(paths.prometheusLocal, '..', f))
  config.scrape_configs[0]!.static_configs = [{ targets: [`127.0.0.1:${gatewayPort}`] }]
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config))
  prometheus = spawn(
    prometheusBin,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  for (const stream of [prometheus.stdout!, prometheus.stderr!]) stream.on('data', (d: Buffer) => prometheusLines.push(...d.toString().split('\n').filter(Boolean)))
  const promLog = () => `prometheus said:\n${prometheusLines.slice(-30).join('\n')}`

  gateway = await startGateway({
    timeoutMs: 45_000,
    env: {
      PORT: String(gatewayPort),
      OPENAI_API_KEY: 'sk-test-prometheus-e2e',
      OPENAI_BASE_URL: upstream.openaiBaseURL,
      ANTHROPIC_API_KEY: 'sk-ant-test-prometheus-e2e',
      ANTHROPIC_BASE_URL: upstream.anthropicBaseURL,
    },
  })
  const gw = gateway
  await until('Prometheus to be ready', async () => (await fetch(`${prom}/-/ready`)).ok, 20_000, promLog)
  await until(
    'the gateway target to be up',
    async () => {
      const body = (await (await fetch(`${prom}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string }> } }
      return body.data.activeTargets[0]?.health === 'up'
    },
    15_000,
    promLog,
  )

  const hi = [{ role: 'user', content: 'hi' }]
  const solve = [{ role: 'user', content: 'Solve: 15 * 23 + 7' }]
  async function traffic(): Promise<void> {
    up.enqueue({ fixture: 'openai-chat-text-nonstream' })
    const a = await post(gw.url, '/v1/chat/completions', { model: 'gpt-3.5-turbo', messages: hi })
    if (a.status !== 200) throw new Error(`gpt-3.5-turbo: ${a.status}`)
    addUsage('gpt-3.5-turbo', 'openai', a.json.usage as OpenAIUsage)
    account('gpt-3.5-turbo', 'openai').calls++

    up.enqueue({ fixture: 'openai-chat-text-stream-include-usage' })
    const b = await post(gw.url, '/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: hi })
    if (b.status !== 200) throw new Error(`gpt-4o-mini stream: ${b.status}`)
    addUsage('gpt-4o-mini', 'openai', b.chunks.at(-1)?.usage as OpenAIUsage)
    account('gpt-4o-mini', 'openai').calls++

    up.enqueue({ fixture: 'openai-chat-prompt-cache-hit-nonstream' })
    const c = await post(gw.url, '/v1/chat/completions', { model: 'gpt-4o-mini', messages: hi })
    if (c.status !== 200) throw new Error(`gpt-4o-mini: ${c.status}`)
    addUsage('gpt-4o-mini', 'openai', c.json.usage as OpenAIUsage)
    account('gpt-4o-mini', 'openai').calls++

    up.enqueue({ fixture: 'anthropic-messages-cache-write-nonstream' })
    const d = await post(gw.url, '/v1/chat/completions', { model: 'claude-3-5-sonnet-20240620', messages: hi })
    if (d.status !== 200) throw new Error(`claude: ${d.status}`)
    addUsage('claude-3-5-sonnet-20240620', 'anthropic', d.json.usage as OpenAIUsage)
    account('claude-3-5-sonnet-20240620', 'anthropic').calls++

    up.enqueue({ status: 500, json: { error: { message: 'boom', type: 'server_error' } } })
    const e = await post(gw.url, '/v1/chat/completions', { model: 'gpt-4o', messages: hi })
    if (e.status !== 502) throw new Error(`gpt-4o: expected the upstream 500 as a 502, got ${e.status}`)
    const failed = account('gpt-4o', 'openai')
    failed.calls++
    failed.failed++

    const f = await post(gw.url, '/v1/chat/completions', { model: 'demo-chat', messages: hi })
    if (f.status !== 200) throw new Error(`demo-chat: ${f.status}`)
    addUsage('demo-chat', 'demo', f.json.usage as OpenAIUsage)
    account('demo-chat', 'demo').calls++

    // The reasoning agent on the demo: three runs at the default effort, one low, one high.
    for (const effort of [undefined, undefined, undefined, 'low', 'high']) {
      const run = await post(gw.url, '/v1/agents/reasoning', { model: 'demo-chat', messages: solve, ...(effort && { reasoning_effort: effort }) })
      if (run.status !== 200) throw new Error(`agent (${effort}): ${run.status} ${JSON.stringify(run.json)}`)
      const iterations = run.json.iterations as Array<{ tool_calls: unknown[] }>
      addUsage('demo-chat', 'demo', run.json.usage as OpenAIUsage)
      account('demo-chat', 'demo').calls += iterations.length
      runs.push({
        effort: effort ?? 'medium',
        iterations: iterations.length,
        toolCalls: iterations.reduce((n, i) => n + i.tool_calls.length, 0),
        answered: typeof run.json.answer === 'string' && run.json.answer.length > 0,
      })
    }
  }

  const calls = () => [...used.values()].reduce((n, u) => n + u.calls, 0)
  const scraped = async (what: string) => {
    const want = { calls: calls(), runs: runs.length }
    await until(
      what,
      async () => {
        const [requests, agentRuns] = await Promise.all([promQuery(prom, 'sum(llm_requests_total)'), promQuery(prom, 'sum(llm_reasoning_requests_total)')])
        return requests.series[0]?.value === want.calls && agentRuns.series[0]?.value === want.runs
      },
      15_000,
      promLog,
    )
  }

  await traffic()
  await scraped('the first half of the traffic in Prometheus')
  await traffic()
  await scraped('all the traffic in Prometheus')
  // Rules evaluate every second: wait for an evaluation that saw everything.
  const settled = Date.now()
  await until(
    'the alert rules to be evaluated on the final data',
    async () => {
      const body = (await (await fetch(`${prom}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ lastEvaluation: string }> }> } }
      const rules = body.data.groups.flatMap((g) => g.rules)
      return rules.length === 4 && rules.every((r) => Date.parse(r.lastEvaluation) > settled)
    },
    10_000,
    promLog,
  )
  const readyAfter = performance.now() - began
  t.comment(`gateway, Prometheus and ${calls()} LLM calls in ${(readyAfter / 1000).toFixed(1)} s`)

  const q = (query: string): Promise<QueryAnswer> => promQuery(prom, query)

  /** The answer succeeded and has series, each carrying `labels` with values the traffic used. */
  function hasData(t: Test, answer: QueryAnswer, labels: string[], what: string): void {
    t.equal(answer.status, 'success', `${what}: evaluates${answer.error ? ` (${answer.error})` : ''}`)
    t.ok(answer.series.length > 0, `${what}: returns data`)
    for (const s of answer.series) {
      for (const label of labels) {
        const value = s.metric[label]
        if (!value) {
          t.fail(`${what}: a series without ${label}: ${JSON.stringify(s.metric)}`)
          continue
        }
        if (label === 'llm_model' && !used.has(value)) t.fail(`${what}: unknown llm_model ${value}`)
        if (label === 'llm_provider' && !PROVIDERS.has(value)) t.fail(`${what}: unknown llm_provider ${value}`)
        if (label === 'reasoning_effort' && !EFFORTS.has(value)) t.fail(`${what}: unknown reasoning_effort ${value}`)
      }
    }
    const seen = new Set(answer.series.flatMap((s) => labels.map((l) => `${l}=${s.metric[l]}`)))
    t.ok(labels.every((l) => [...seen].some((x) => x.startsWith(`${l}=`))), `${what}: labelled ${labels.join(', ') || '(aggregated, no labels)'}`)
  }

  const key = (s: Series, labels: string[]) => labels.map((l) => `${l}=${s.metric[l] ?? ''}`).join(',')
  const byKey = (answer: QueryAnswer, labels: string[]) => new Map(answer.series.map((s) => [key(s, labels), s.value]))
  const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))

  t.test('the sums in Prometheus equal what the responses said was used', async (t) => {
    const totals = [...used.values()].reduce(
      (acc, u) => ({ input: acc.input + u.input, output: acc.output + u.output, cacheRead: acc.cacheRead + u.cacheRead, cacheWrite: acc.cacheWrite + u.cacheWrite, cost: acc.cost + u.cost }),
      { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0 },
    )
    t.equal((await q('sum(llm_tokens_input_total)')).series[0]?.value, totals.input, `input tokens: ${totals.input}`)
    t.equal((await q('sum(llm_tokens_output_total)')).series[0]?.value, totals.output, `output tokens: ${totals.output}`)
    t.equal((await q('sum(llm_cache_read_tokens_total)')).series[0]?.value, totals.cacheRead, `cache read tokens: ${totals.cacheRead}`)
    t.equal((await q('sum(llm_cache_write_tokens_total)')).series[0]?.value, totals.cacheWrite, `cache write tokens: ${totals.cacheWrite}`)
    t.ok(close((await q('sum(llm_cost_total_usd)')).series[0]?.value, totals.cost), `llm_cost_total_usd = the sum of usage.cost_usd, ${totals.cost}`)
    t.ok(totals.cacheRead > 0 && totals.cacheWrite > 0 && totals.cost > 0, 'the traffic read and wrote the cache and cost money')

    const perModel = async (metric: string) => byKey(await q(`sum by (llm_model, llm_provider) (${metric})`), ['llm_model', 'llm_provider'])
    const [input, output, cacheRead, cacheWrite, cost, requests, failed] = await Promise.all(
      ['llm_tokens_input_total', 'llm_tokens_output_total', 'llm_cache_read_tokens_total', 'llm_cache_write_tokens_total', 'llm_cost_total_usd', 'llm_requests_total', 'llm_requests_failed_total'].map(perModel),
    )
    for (const [model, u] of used) {
      const k = `llm_model=${model},llm_provider=${u.provider}`
      t.equal(requests!.get(k), u.calls, `${model}: llm_requests_total = ${u.calls} calls`)
      t.equal(failed!.get(k) ?? 0, u.failed, `${model}: llm_requests_failed_total = ${u.failed}`)
      if (u.calls === u.failed) {
        t.notOk(input!.has(k), `${model}: no tokens for failures only`)
        continue
      }
      t.equal(input!.get(k), u.input, `${model}: input tokens ${u.input}`)
      t.equal(output!.get(k), u.output, `${model}: output tokens ${u.output}`)
      t.equal(cacheRead!.get(k), u.cacheRead, `${model}: cache read ${u.cacheRead}`)
      t.equal(cacheWrite!.get(k), u.cacheWrite, `${model}: cache write ${u.cacheWrite}`)
      t.ok(close(cost!.get(k), u.cost), `${model}: cost ${cost!.get(k)} = ${u.cost}`)
    }

    const reasoning = async (metric: string) => byKey(await q(`sum by (reasoning_effort) (${metric})`), ['reasoning_effort'])
    const [started, succeeded, iterations, toolCalls] = await Promise.all(
      ['llm_reasoning_requests_total', 'llm_reasoning_success_total', 'llm_reasoning_iterations_total', 'llm_reasoning_tool_calls_total'].map(reasoning),
    )
    for (const effort of EFFORTS) {
      const mine = runs.filter((r) => r.effort === effort)
      const k = `reasoning_effort=${effort}`
      t.equal(started!.get(k), mine.length, `${effort}: ${mine.length} runs`)
      t.equal(succeeded!.get(k), mine.filter((r) => r.answered).length, `${effort}: runs answered`)
      t.equal(iterations!.get(k), mine.reduce((n, r) => n + r.iterations, 0), `${effort}: iterations`)
      t.equal(toolCalls!.get(k), mine.reduce((n, r) => n + r.toolCalls, 0), `${effort}: tool calls`)
    }
  })

  t.test('every query of the guide\'s "Understanding Your Data" returns data, or is shown wrong and corrected', async (t) => {
    for (const g of GUIDE) {
      const query = g.promql.replaceAll('$model', 'gpt-4o-mini')
      const answer = await q(query)
      const what = `${g.section}: ${query}`
      if (g.wrong) {
        t.equal(answer.status, 'success', `${what}: evaluates`)
        t.same(answer.series, [], `${what}: selects nothing (${g.wrong.why})`)
        hasData(t, await q(g.wrong.corrected), g.labels, `  corrected: ${g.wrong.corrected}`)
        continue
      }
      hasData(t, answer, g.labels, what)
      if (g.caveat) hasData(t, await q(g.caveat.better), g.labels, `  better (${g.caveat.why}): ${g.caveat.better}`)
    }
  })

  t.test('the guide\'s four alerts: latency can never fire, reasoning misfires, the error rate works as printed; the shipped rules evaluate on real data', async (t) => {
    const rules = alertRules()
    const body = (await (await fetch(`${prom}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> } }
    for (const rule of body.data.groups.flatMap((g) => g.rules)) t.equal(rule.health, 'ok', `${rule.name}: loaded and evaluated without error ${rule.lastError ?? ''}`)

    for (const rule of rules) {
      const { value, threshold } = splitThreshold(rule.expr)
      // Unaggregated (the guide's error rate, shipped as printed): the counters' own two labels.
      const labels = byLabels(value).length ? byLabels(value) : ['llm_model', 'llm_provider']
      const values = await q(value)
      hasData(t, values, labels, `${rule.alert} value: ${value}`)
      const firing = await q(rule.expr)
      t.equal(firing.status, 'success')
      t.same(
        firing.series.map((s) => key(s, labels)).sort(),
        values.series.filter((s) => s.value > threshold).map((s) => key(s, labels)).sort(),
        `${rule.alert}: fires exactly where the value exceeds ${threshold}`,
      )
    }

    // Latency: the guide selects a series that does not exist.
    t.same((await q(splitThreshold(GUIDE_ALERTS.LLMHighLatency).value)).series, [], 'guide LLMHighLatency: llm_request_duration_seconds selects nothing, so it can never fire')
    // Cost: per second, not per 5 minutes (promtool shows it missing $0.25 per 5 minutes); here it evaluates.
    hasData(t, await q(splitThreshold(GUIDE_ALERTS.LLMHighCost).value), ['llm_model', 'llm_provider'], 'guide LLMHighCost value: rate(llm_cost_total_usd[5m])')
    // Error rate: gpt-4o failed every request, and the guide's expression, shipped as printed, sees it.
    const shipped = rules.find((r) => r.alert === 'LLMHighErrorRate')!.expr
    t.equal(shipped, GUIDE_ALERTS.LLMHighErrorRate, 'the shipped LLMHighErrorRate is the guide\'s expression')
    const rates = byKey(await q(splitThreshold(shipped).value), ['llm_model', 'llm_provider'])
    t.same([...rates], [['llm_model=gpt-4o,llm_provider=openai', 1]], 'gpt-4o failed all its requests (error rate 1); no other model failed')
    t.same((await q(shipped)).series.map((s) => s.metric.llm_model), ['gpt-4o'], 'so it fires for gpt-4o')
    const alerts = (await (await fetch(`${prom}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } }
    t.ok(
      alerts.data.alerts.some((a) => a.labels.alertname === 'LLMHighErrorRate' && a.labels.llm_model === 'gpt-4o' && ['pending', 'firing'].includes(a.state)),
      'and Prometheus has the alert pending (for: 2m)',
    )
    // Reasoning: no run took more than 2 iterations, yet the guide's alert fires.
    t.ok(Math.max(...runs.map((r) => r.iterations)) <= 10, `no run took more than 10 iterations (at most ${Math.max(...runs.map((r) => r.iterations))})`)
    const naive = await q(GUIDE_ALERTS.ReasoningTooManyIterations)
    t.ok(naive.series.some((s) => s.metric.reasoning_effort === 'medium'), 'guide ReasoningTooManyIterations fires anyway: the counter of all iterations passed 10')
    t.same((await q(rules.find((r) => r.alert === 'ReasoningTooManyIterations')!.expr)).series, [], 'the shipped rule does not')
  })

  t.test('every panel query of the Grafana dashboard returns data with the labels its legend shows', async (t) => {
    const targets = dashboardTargets()
    t.ok(targets.length >= 15, `${targets.length} queries`)
    for (const target of targets) {
      const query = withModel(target.expr)
      const answer = await q(query)
      hasData(t, answer, legendLabels(target.legendFormat), `${target.panel} ${target.refId}: ${query}`)
      t.ok(answer.series.every((s) => Number.isFinite(s.value)), `${target.panel} ${target.refId}: finite values ${JSON.stringify(answer.series.map((s) => s.value))}`)
    }
    // The model variable's own query, label_values(llm_requests_total, llm_model), as Grafana sends it.
    const response = await fetch(`${prom}/api/v1/label/llm_model/values?${new URLSearchParams({ 'match[]': 'llm_requests_total' })}`)
    const values = ((await response.json()) as { data: string[] }).data
    t.same(values.sort(), [...used.keys()].sort(), 'the model variable lists every model that was called')
    // One model selected: the panels narrow to it.
    const one = await q(withModel(targets[0]!.expr, 'gpt-4o-mini'))
    t.same(one.series.map((s) => s.metric.llm_model), ['gpt-4o-mini'])
  })

  t.test('the PromQL the README\'s walk-through tells readers to paste returns data', async (t) => {
    const queries = promqlBlocks(readmeDockerSection())
    t.ok(queries.length >= 10, `${queries.length} queries`)
    for (const query of queries) {
      // The labels each keeps: those of its aggregation, or llm_model for the raw series.
      const labels = byLabels(query).length ? byLabels(query) : ['llm_model']
      const answer = await q(query)
      hasData(t, answer, labels, query)
      t.ok(answer.series.every((s) => Number.isFinite(s.value)), `${query}: finite values`)
    }
  })

  t.test('bounded', async (t) => {
    t.ok(readyAfter < 60_000, `traffic scraped and rules evaluated in ${(readyAfter / 1000).toFixed(1)} s`)
  })
}
