// The Grafana dashboard and its provisioning: the JSON parses, every datasource it names is a
// provisioned one (by uid and type), the `model` variable filters every query, the panels the issue
// asks for are there, and every query is one test/stack/prometheus-e2e.test.ts runs against a real
// Prometheus (it runs dashboardTargets(), all of them, after substituting $model).
import t from 'tap'
import { dashboardTargets, legendLabels, paths, readJson, readYaml, withModel } from './helpers.ts'

const dashboard = readJson(paths.dashboard)
const targets = dashboardTargets(dashboard)
const datasources = (readYaml(paths.datasources) as { apiVersion: number; datasources: Array<{ name: string; uid: string; type: string; url: string; isDefault?: boolean }> })
const byUid = new Map(datasources.datasources.map((d) => [d.uid, d]))

interface Panel {
  id: number
  type: string
  title: string
  datasource?: { type: string; uid: string }
  targets?: unknown[]
  panels?: Panel[]
  gridPos: { h: number; w: number; x: number; y: number }
}
const panels = dashboard.panels as Panel[]

t.test('provisioning: Prometheus and Jaeger with fixed uids, reachable inside the compose network', async (t) => {
  t.equal(datasources.apiVersion, 1)
  t.match(byUid.get('prometheus'), { type: 'prometheus', url: 'http://prometheus:9090', isDefault: true })
  t.match(byUid.get('jaeger'), { type: 'jaeger', url: 'http://jaeger:16686' })
  const provider = readYaml(paths.dashboardsProvider) as { apiVersion: number; providers: Array<{ type: string }> }
  t.equal(provider.apiVersion, 1)
  t.same(provider.providers.map((p) => p.type), ['file'])
})

t.test('the dashboard JSON: uid, title, every datasource a provisioned one', async (t) => {
  t.equal(dashboard.uid, 'llm-gateway')
  t.ok(typeof dashboard.title === 'string' && typeof dashboard.schemaVersion === 'number')
  const ids = panels.map((p) => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  for (const panel of panels) {
    if (panel.type === 'row') continue
    t.ok(panel.datasource && byUid.get(panel.datasource.uid)?.type === panel.datasource.type, `${panel.title}: datasource ${JSON.stringify(panel.datasource)} is provisioned`)
    t.ok((panel.targets ?? []).length > 0, `${panel.title}: has queries`)
  }
  for (const target of targets) {
    t.equal(byUid.get(target.datasourceUid ?? '')?.type, 'prometheus', `${target.panel} ${target.refId}: a query of the provisioned Prometheus`)
  }
  const variables = (dashboard.templating as { list: Array<{ datasource?: { uid: string } }> }).list
  for (const v of variables) if (v.datasource) t.ok(byUid.has(v.datasource.uid), 'variable datasource provisioned')
  const links = dashboard.links as Array<{ url: string }>
  t.ok(links.some((l) => l.url.startsWith('http://localhost:16686/')), 'a link to the traces in Jaeger')
})

t.test('a `model` variable filters every query', async (t) => {
  const variables = (dashboard.templating as { list: Array<Record<string, unknown>> }).list
  const model = variables.find((v) => v.name === 'model')
  t.match(model, { type: 'query', definition: 'label_values(llm_requests_total, llm_model)', multi: true, includeAll: true, allValue: '.*' })
  for (const target of targets) {
    // The failures-by-type panel reads the GenAI histogram, whose model label is gen_ai_request_model.
    t.match(target.expr, /\b(llm_model|gen_ai_request_model)=~"\$model"/, `${target.panel} ${target.refId}: filtered by $model`)
    t.notMatch(withModel(target.expr), /\$/, `${target.panel} ${target.refId}: no other Grafana variable (the e2e test substitutes only $model)`)
    t.ok(target.legendFormat, `${target.panel} ${target.refId}: a legend`)
  }
})

t.test('the panels the issue asks for, each from the guide\'s metrics', async (t) => {
  const exprsOf = (pattern: RegExp) => targets.filter((x) => pattern.test(x.panel)).map((x) => x.expr)
  const has = (panel: RegExp, expr: RegExp, what: string) => t.ok(exprsOf(panel).some((e) => expr.test(e)), what)
  has(/^Requests per second$/, /rate\(llm_requests_total\{/, 'requests per second')
  has(/^Error rate$/, /rate\(llm_requests_failed_total\{.*\/ sum by \(llm_model\) \(rate\(llm_requests_total\{/, 'error rate')
  has(/^Failures by error type$/, /sum by \(gen_ai_request_model, error_type\) \(rate\(\{__name__=~"gen_ai_client_operation_duration\(_seconds\)\?_count"/, 'failures by error.type')
  has(/latency/i, /histogram_quantile\(0\.5, sum by \(llm_model, le\) \(rate\(llm_request_duration_seconds_bucket/, 'p50 latency')
  has(/latency/i, /histogram_quantile\(0\.95, sum by \(llm_model, le\) \(rate\(llm_request_duration_seconds_bucket/, 'p95 latency')
  has(/first token/i, /llm_time_to_first_token_seconds_bucket/, 'time to first token')
  has(/^Tokens per second/, /rate\(llm_tokens_input_total\{/, 'input tokens per second')
  has(/^Tokens per second/, /rate\(llm_tokens_output_total\{/, 'output tokens per second')
  has(/^Cost per hour by model$/, /sum by \(llm_model\) \(rate\(llm_cost_total_usd\{[^}]*\}\[5m\]\)\) \* 3600/, 'cost per hour by model')
  has(/cache hit ratio/i, /llm_cache_read_tokens_total.*\/.*llm_tokens_input_total/, 'cache hit ratio')
  has(/^Iterations per run$/, /llm_reasoning_iterations_total.*\/.*llm_reasoning_requests_total/, 'reasoning iterations per run')
  has(/^Tool calls/, /rate\(llm_reasoning_tool_calls_total\{/, 'tool calls')
  for (const target of targets) {
    for (const label of legendLabels(target.legendFormat)) {
      t.ok(new RegExp(`by \\([^)]*\\b${label}\\b`).test(target.expr), `${target.panel} ${target.refId}: the legend's ${label} is kept by the query's aggregation`)
    }
  }
})

t.test('the layout: panels on the 24-column grid, none overlapping', async (t) => {
  const cells = new Set<string>()
  for (const panel of panels) {
    const { x, y, w, h } = panel.gridPos
    t.ok(x >= 0 && w > 0 && x + w <= 24, `${panel.title}: within 24 columns`)
    const taken: string[] = []
    for (let i = x; i < x + w; i++) {
      for (let j = y; j < y + h; j++) {
        if (cells.has(`${i},${j}`)) taken.push(`${i},${j}`)
        cells.add(`${i},${j}`)
      }
    }
    t.same(taken, [], `${panel.title}: overlaps no other panel`)
  }
})
