// prometheus.yml, the local variant and the alert rules, checked by Prometheus' own promtool:
// config and rules load, the unit tests make each alert fire and stay quiet, and the guide's alert
// block as printed is shown to be wrong where it is (it does not load; as expressions it misses
// the latency and cost alerts and misfires on reasoning; its error rate is right and shipped as is).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { alertRules, byLabels, missing, paths, readYaml, run, splitThreshold, which } from './helpers.ts'

const promtool = which('promtool')
const skip = promtool ? false : missing('promtool')

const GUIDE_ERROR_RATE = 'rate(llm_requests_failed_total[5m]) / rate(llm_requests_total[5m]) > 0.05'

t.test('the rules file has the guide\'s four alerts, each `<value> > <threshold>` over rates, increases or quantiles', async (t) => {
  const rules = alertRules()
  t.same(rules.map((r) => r.alert).sort(), ['LLMHighCost', 'LLMHighErrorRate', 'LLMHighLatency', 'ReasoningTooManyIterations'])
  const thresholds: Record<string, number> = { LLMHighLatency: 10, LLMHighCost: 0.1, LLMHighErrorRate: 0.05, ReasoningTooManyIterations: 10 }
  for (const rule of rules) {
    const { value, threshold } = splitThreshold(rule.expr)
    t.equal(threshold, thresholds[rule.alert], `${rule.alert}: the guide's threshold`)
    // A counter or histogram compared as it is would be wrong (cumulative since start): every
    // selector sits inside rate() or increase().
    const selectors = [...value.matchAll(/\b(llm_[a-z_]+)\s*(\{[^}]*\})?\s*\[/g)].map((m) => m[1])
    const bare = value
      .replace(/\b(rate|increase)\(\s*llm_[a-z_]+(\{[^}]*\})?\[[^\]]+\]\)/g, '')
      .replace(/\bby\s*\([^)]*\)/g, '')
    t.ok(selectors.length > 0, `${rule.alert}: reads metrics through range functions`)
    t.notMatch(bare, /\bllm_[a-z_]+/, `${rule.alert}: no metric is used outside rate()/increase()`)
    if (rule.alert === 'LLMHighErrorRate') {
      // Both counters carry exactly llm_model and llm_provider: `/` pairs them one to one.
      t.equal(rule.expr, GUIDE_ERROR_RATE, `${rule.alert}: the guide's expression, verbatim`)
    } else {
      t.ok(byLabels(value).includes('llm_model') && byLabels(value).includes('llm_provider'), `${rule.alert}: per model and provider`)
    }
    t.ok(rule.annotations?.summary && rule.annotations?.description, `${rule.alert}: summary and description annotations`)
    t.ok(rule.labels?.severity, `${rule.alert}: a severity label`)
  }
  t.match(rules.find((r) => r.alert === 'LLMHighLatency')?.expr, /histogram_quantile\(0\.95, sum by \([^)]*\ble\b[^)]*\) \(rate\(llm_request_duration_seconds_bucket\[5m\]\)\)\)/)
  t.match(rules.find((r) => r.alert === 'LLMHighCost')?.expr, /increase\(llm_cost_total_usd\[5m\]\)/)
  t.same(byLabels(rules.find((r) => r.alert === 'ReasoningTooManyIterations')?.expr ?? ''), ['llm_model', 'llm_provider', 'reasoning_effort'], 'reasoning: per effort too')
})

t.test('promtool check rules: the rules file loads', { skip }, async (t) => {
  const result = run(promtool!, ['check', 'rules', paths.rules])
  t.equal(result.status, 0, result.output)
  t.match(result.output, /SUCCESS: 4 rules found/)
})

t.test('promtool check config: prometheus.yml, as mounted in the compose stack, loads with its rules', { skip }, async (t) => {
  // docker-compose.yml mounts prometheus.yml at /etc/prometheus/prometheus.yml and
  // deploy/prometheus/rules at /etc/prometheus/rules: the same layout in a temporary directory.
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(paths.prometheus, join(dir, 'prometheus.yml'))
  cpSync(join(paths.rules, '..'), join(dir, 'rules'), { recursive: true })
  const result = run(promtool!, ['check', 'config', join(dir, 'prometheus.yml')])
  t.equal(result.status, 0, result.output)
  t.match(result.output, /SUCCESS: 1 rule files found/)
  t.match(result.output, /SUCCESS: 4 rules found/, 'the rule file was read through the config\'s rule_files glob')

  const inRepo = run(promtool!, ['check', 'config', paths.prometheus])
  t.equal(inRepo.status, 0, inRepo.output)
})

t.test('promtool check config: the no-Docker variant (scrapes the gateway\'s /metrics) loads with its rules', { skip }, async (t) => {
  const result = run(promtool!, ['check', 'config', paths.prometheusLocal])
  t.equal(result.status, 0, result.output)
  t.match(result.output, /SUCCESS: 1 rule files found/)
  t.match(result.output, /SUCCESS: 4 rules found/)
})

t.test('promtool test rules: each alert fires on a synthetic series and stays quiet on a healthy one', { skip }, async (t) => {
  const result = run(promtool!, ['test', 'rules', paths.rulesTest])
  t.equal(result.status, 0, result.output)
  t.match(result.output, /SUCCESS/)

  // Every alert is tested both ways.
  const tests = (readYaml(paths.rulesTest).tests as Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>).flatMap((x) => x.alert_rule_test)
  for (const rule of alertRules()) {
    const cases = tests.filter((c) => c.alertname === rule.alert)
    t.ok(cases.some((c) => c.exp_alerts.length > 0), `${rule.alert} is shown to fire`)
    t.ok(cases.some((c) => c.exp_alerts.length === 0), `${rule.alert} is shown not to fire`)
  }
})

t.test('a failing unit test fails promtool (the check above can go red)', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-rules-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(join(paths.rules, '..'), join(dir, 'rules'), { recursive: true })
  cpSync(join(paths.rulesTest, '..'), join(dir, 'tests'), { recursive: true })
  const broken = join(dir, 'tests', 'broken.test.yml')
  writeFileSync(broken, readFileSync(paths.rulesTest, 'utf8').replace('is 19.5s (over 10 s)', 'is 9s (over 10 s)'))
  const result = run(promtool!, ['test', 'rules', broken])
  t.not(result.status, 0, 'promtool reports the mismatch')
  t.match(result.output, /FAILED/)
})

t.test('the guide\'s alert block as printed does not load: `description` is not a rule field', { skip }, async (t) => {
  const result = run(promtool!, ['check', 'rules', join(paths.fixtures, 'guide-alerts-verbatim.yml')])
  t.not(result.status, 0)
  t.match(result.output, /field description not found/)
})

t.test('the guide\'s alert expressions, on the same series: latency and cost never fire, reasoning misfires, the error rate is right', { skip }, async (t) => {
  const ours = readYaml(paths.rulesTest).tests as Array<{ input_series: unknown }>
  const theirs = readYaml(join(paths.fixtures, 'guide-alerts.test.yml')).tests as Array<{ input_series: unknown }>
  t.same(theirs[0]?.input_series, ours[0]?.input_series, 'identical input series')
  const guide = alertRules(join(paths.fixtures, 'guide-alerts.yml'))
  t.same(
    Object.fromEntries(guide.map((r) => [r.alert, r.expr])),
    {
      LLMHighLatency: 'llm_request_duration_seconds > 10',
      LLMHighCost: 'rate(llm_cost_total_usd[5m]) > 0.10',
      LLMHighErrorRate: GUIDE_ERROR_RATE,
      ReasoningTooManyIterations: 'llm_reasoning_iterations_total > 10',
    },
    'the guide\'s expressions, verbatim',
  )
  const result = run(promtool!, ['test', 'rules', join(paths.fixtures, 'guide-alerts.test.yml')])
  t.equal(result.status, 0, result.output)
})
