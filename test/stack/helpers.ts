// Shared by the stack tests (test/stack/*.test.ts): where the deployment files are, the real
// programs they are checked with (Debian's promtool, prometheus, docker-compose), YAML, the
// dashboard's queries, and a small client for Prometheus' HTTP API.
import { spawnSync } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/** The repository root, with a trailing slash. */
export const root = fileURLToPath(new URL('../../', import.meta.url))

export const paths = {
  compose: join(root, 'docker-compose.yml'),
  collector: join(root, 'otel-collector.yml'),
  prometheus: join(root, 'prometheus.yml'),
  prometheusLocal: join(root, 'deploy/prometheus/prometheus.local.yml'),
  rules: join(root, 'deploy/prometheus/rules/llm-alerts.yml'),
  rulesTest: join(root, 'deploy/prometheus/tests/llm-alerts.test.yml'),
  balancer: join(root, 'deploy/haproxy/haproxy.cfg'),
  dockerfile: join(root, 'Dockerfile'),
  dockerignore: join(root, '.dockerignore'),
  datasources: join(root, 'deploy/grafana/provisioning/datasources/datasources.yml'),
  dashboardsProvider: join(root, 'deploy/grafana/provisioning/dashboards/dashboards.yml'),
  dashboard: join(root, 'deploy/grafana/dashboards/llm-gateway.json'),
  fixtures: join(root, 'test/stack/fixtures'),
} as const

/** The absolute path of `program` on PATH, or undefined. */
export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, program)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

/** Why a test is skipped when a program is missing (CI installs them: see .ci/run). */
export function missing(program: string): string {
  return `${program} is not installed: apt-get install -y prometheus docker-compose (Debian packages; .ci/run installs them, so CI skips nothing)`
}

export interface RunResult {
  status: number | null
  stdout: string
  stderr: string
  /** stdout and stderr together, for assertion messages. */
  output: string
}

/** Runs a short-lived program to completion with a clean environment (nothing from the shell leaks in). */
export function run(program: string, args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): RunResult {
  const result = spawnSync(program, args, {
    cwd: options.cwd ?? root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
  })
  const stdout = result.stdout ?? ''
  const stderr = (result.stderr ?? '') + (result.error ? `\n${result.error.message}` : '')
  return { status: result.status, stdout, stderr, output: `${stdout}\n${stderr}`.trim() }
}

export type Yaml = Record<string, unknown>

export function readYaml(path: string): Yaml {
  return parse(readFileSync(path, 'utf8')) as Yaml
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
}

/** The "## Docker" section of README.md, up to the next second-level heading. */
export function readmeDockerSection(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('\n## Docker\n')
  if (start < 0) throw new Error('README.md has no "## Docker" section')
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
}

/**
 * The queries of the ```promql blocks of a README section: `#` comments dropped, an indented line
 * continuing the query above it (as pasted into Prometheus' expression box).
 */
export function promqlBlocks(section: string): string[] {
  const queries: string[] = []
  for (const block of section.matchAll(/```promql\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const code = line.replace(/\s+#.*$/, '').replace(/^#.*$/, '')
      if (!code.trim()) continue
      if (/^\s/.test(code) && queries.length > 0) queries[queries.length - 1] += ` ${code.trim()}`
      else queries.push(code.trim())
    }
  }
  return queries
}

// ---------------------------------------------------------------------------------------------
// The dashboard

export interface DashboardTarget {
  panel: string
  refId: string
  expr: string
  legendFormat: string
  datasourceUid: string | undefined
}

interface Panel {
  type: string
  title: string
  datasource?: { type?: string; uid?: string }
  targets?: Array<{ refId: string; expr?: string; legendFormat?: string; datasource?: { type?: string; uid?: string } }>
  panels?: Panel[]
}

/** Every query of every panel of deploy/grafana/dashboards/llm-gateway.json (rows included). */
export function dashboardTargets(dashboard = readJson(paths.dashboard)): DashboardTarget[] {
  const out: DashboardTarget[] = []
  const visit = (panels: Panel[]) => {
    for (const panel of panels) {
      if (panel.panels) visit(panel.panels)
      for (const target of panel.targets ?? []) {
        out.push({
          panel: panel.title,
          refId: target.refId,
          expr: target.expr ?? '',
          legendFormat: target.legendFormat ?? '',
          datasourceUid: target.datasource?.uid ?? panel.datasource?.uid,
        })
      }
    }
  }
  visit((dashboard.panels ?? []) as Panel[])
  return out
}

/** The labels a legend shows (`{{llm_model}} {{error_type}}` → llm_model, error_type). */
export function legendLabels(legendFormat: string): string[] {
  return [...legendFormat.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1]!)
}

/** What a dashboard query becomes with the `model` variable set: `.*` is Grafana's "All". */
export function withModel(expr: string, model = '.*'): string {
  return expr.replaceAll('$model', model)
}

// ---------------------------------------------------------------------------------------------
// The alert rules

export interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export function alertRules(path: string = paths.rules): AlertRule[] {
  const file = readYaml(path) as { groups: Array<{ rules: AlertRule[] }> }
  return file.groups.flatMap((g) => g.rules)
}

/**
 * Splits `<value> > <threshold>`, the form every rule in deploy/prometheus/rules is written in:
 * the value can be evaluated on its own (it returns data whenever the metrics exist, firing or not).
 */
export function splitThreshold(expr: string): { value: string; threshold: number } {
  const match = /^([\s\S]*\S)\s*>\s*([0-9.]+)\s*$/.exec(expr.trim())
  if (!match) throw new Error(`not of the form <value> > <threshold>: ${expr}`)
  return { value: match[1]!, threshold: Number(match[2]) }
}

/** The labels of an outermost `sum by (…)` / `by (…)` aggregation, in order of appearance. */
export function byLabels(expr: string): string[] {
  const match = /\bby\s*\(([^)]*)\)/.exec(expr)
  return match ? match[1]!.split(',').map((l) => l.trim()).filter((l) => l && l !== 'le') : []
}

// ---------------------------------------------------------------------------------------------
// Prometheus' HTTP API

export interface Series {
  metric: Record<string, string>
  value: number
}

export interface QueryAnswer {
  status: string
  error?: string
  series: Series[]
}

export async function promQuery(baseUrl: string, query: string): Promise<QueryAnswer> {
  const response = await fetch(`${baseUrl}/api/v1/query?query=${encodeURIComponent(query)}`)
  const body = (await response.json()) as {
    status: string
    error?: string
    data?: { resultType: string; result: unknown }
  }
  if (body.status !== 'success' || !body.data) return { status: body.status, error: body.error ?? `HTTP ${response.status}`, series: [] }
  const { resultType, result } = body.data
  if (resultType === 'scalar') {
    const [, value] = result as [number, string]
    return { status: body.status, series: [{ metric: {}, value: Number(value) }] }
  }
  if (resultType !== 'vector') return { status: 'error', error: `unexpected result type ${resultType}`, series: [] }
  return {
    status: body.status,
    series: (result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({
      metric: r.metric,
      value: Number(r.value[1]),
    })),
  }
}
