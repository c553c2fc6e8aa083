// What a stored trace means to a reader: its spans nested by parent, a one-line summary (route,
// model, duration, tokens, cost, status) and the evaluations linked to it. Pure functions over the
// store's plain records, shared by the JSON route and the two pages.
import type { StoredSpan, StoredTrace, StoredValue } from '../../telemetry/trace-store.ts'
import { AGENT_SPAN, ATTR, EVAL_ATTR, EVAL_SPAN, HTTP_ATTR, LINK_ATTR, SPAN } from '../../telemetry/names.ts'

export interface SpanNode extends StoredSpan {
  depth: number
  children: SpanNode[]
}

export interface TraceSummary {
  trace_id: string
  /** The name of the root span, e.g. `POST /v1/chat/completions`. */
  root: string
  route: string | null
  http_status: number | null
  model: string | null
  provider: string | null
  /** The named gateway key that made the call, and its team (`gateway.key.name`, `gateway.key.team`). */
  key_name: string | null
  key_team: string | null
  /** The end user the caller named (OpenAI `user`, Anthropic `metadata.user_id`). */
  user_id: string | null
  start_time: string
  duration_ms: number
  span_count: number
  tokens: { input: number; output: number; total: number } | null
  cost_usd: number | null
  /** `error` when the request failed: the root, an llm.request or the agent run ended in error. */
  status: 'ok' | 'error'
  error_count: number
  dropped_spans: number
  evaluation_count: number
}

export interface EvaluationView {
  id: string | null
  name: string
  scores: Record<string, number>
  label: string | null
  comment: string | null
  /** The evaluated generation, as the link names it. */
  target: { trace_id: string; span_id: string }
  /** The caller's link attributes (link.type included). */
  link_attributes: Record<string, StoredValue>
  /** The evaluation's own trace and span. */
  trace_context: { trace_id: string; span_id: string }
  time: string
}

const num = (value: StoredValue | undefined): number | undefined => (typeof value === 'number' ? value : undefined)
const text = (value: StoredValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined)

export function isToolSpan(span: StoredSpan): boolean {
  return span.name.startsWith(AGENT_SPAN.tool('')) || span.attributes[ATTR.genAiOperation] === 'execute_tool'
}

export function isLlmRequest(span: StoredSpan): boolean {
  return span.name === SPAN.request
}

export function isAgentRun(span: StoredSpan): boolean {
  return span.name === AGENT_SPAN.run
}

export function isEvaluationSpan(span: StoredSpan): boolean {
  return span.name.startsWith(EVAL_SPAN.evaluation(''))
}

/**
 * Whether the recent-traces list shows a trace by default: it holds a model call, an agent run or
 * an evaluation, or it is a POST (an API call, also one refused before it reached a model: that is
 * the one a caller looks for). The rest — the SDKs' own `GET /v1/models` lookups, `GET
 * /v1/agents/tools`, probes of unknown paths — crowd the list and show with `?all=1` only.
 */
export function isListedByDefault(trace: StoredTrace): boolean {
  if (trace.evaluations.length > 0) return true
  return trace.spans.some(
    (span) =>
      isLlmRequest(span) ||
      isAgentRun(span) ||
      isEvaluationSpan(span) ||
      (span.kind === 'SERVER' && (span.attributes[HTTP_ATTR.method] ?? span.attributes['http.method']) === 'POST'),
  )
}

export function isError(span: StoredSpan): boolean {
  return span.status.code === 'ERROR'
}

/** Nested by parent, children in start order; spans whose parent is not held are roots. */
export function spanTree(trace: StoredTrace): SpanNode[] {
  const nodes = new Map<string, SpanNode>()
  for (const span of trace.spans) nodes.set(span.span_id, { ...span, depth: 0, children: [] })
  const roots: SpanNode[] = []
  for (const node of nodes.values()) {
    const parent = node.parent_span_id ? nodes.get(node.parent_span_id) : undefined
    if (parent && parent !== node) parent.children.push(node)
    else roots.push(node)
  }
  const byStart = (a: SpanNode, b: SpanNode) => a.start_ms - b.start_ms
  const visit = (list: SpanNode[], depth: number) => {
    list.sort(byStart)
    for (const node of list) {
      node.depth = depth
      visit(node.children, depth + 1)
    }
  }
  visit(roots, 0)
  return roots
}

/** The status a reader sees: failed, refused by a 4xx (the caller's error, not the gateway's), or ok. */
export function statusBadge(summary: TraceSummary): { kind: 'ok' | 'warn' | 'error'; text: string } {
  const http = summary.http_status === null ? '' : `${summary.http_status} `
  if (summary.status === 'error') return { kind: 'error', text: `${http}error` }
  if (summary.http_status !== null && summary.http_status >= 400) return { kind: 'warn', text: `${http}refused` }
  return { kind: 'ok', text: `${http}ok` }
}

/** Depth-first order, as the page lists them. */
export function flatten(nodes: SpanNode[]): SpanNode[] {
  const out: SpanNode[] = []
  const walk = (list: SpanNode[]) => {
    for (const node of list) {
      out.push(node)
      walk(node.children)
    }
  }
  walk(nodes)
  return out
}

function httpStatus(span: StoredSpan): number | null {
  return num(span.attributes[HTTP_ATTR.statusCode]) ?? num(span.attributes['http.status_code']) ?? null
}

export function summarize(trace: StoredTrace): TraceSummary {
  const roots = spanTree(trace)
  const root = roots[0]
  const byStart = [...trace.spans].sort((a, b) => a.start_ms - b.start_ms)
  const first = (key: string) => {
    for (const span of byStart) {
      const value = text(span.attributes[key])
      if (value) return value
    }
    return null
  }
  const requests = trace.spans.filter(isLlmRequest)
  let tokens: TraceSummary['tokens'] = null
  let cost: number | null = null
  for (const span of requests) {
    const input = num(span.attributes[ATTR.tokensInput])
    const output = num(span.attributes[ATTR.tokensOutput])
    if (input !== undefined || output !== undefined) {
      tokens ??= { input: 0, output: 0, total: 0 }
      tokens.input += input ?? 0
      tokens.output += output ?? 0
      tokens.total = tokens.input + tokens.output
    }
    const spanCost = num(span.attributes[ATTR.costTotal])
    if (spanCost !== undefined) cost = (cost ?? 0) + spanCost
  }
  const status = root ? httpStatus(root) : null
  const failed =
    (root !== undefined && isError(root)) ||
    (status !== null && status >= 500) ||
    trace.spans.some((span) => isError(span) && (isLlmRequest(span) || isAgentRun(span)))
  return {
    trace_id: trace.trace_id,
    root: root?.name ?? '(no spans)',
    route: (root && text(root.attributes[HTTP_ATTR.route])) ?? null,
    http_status: status,
    model: first(ATTR.model),
    provider: first(ATTR.provider),
    key_name: first(ATTR.keyName),
    key_team: first(ATTR.keyTeam),
    user_id: first(ATTR.userId),
    start_time: new Date(trace.start_ms).toISOString(),
    duration_ms: trace.end_ms - trace.start_ms,
    span_count: trace.spans.length,
    tokens,
    cost_usd: cost,
    status: failed ? 'error' : 'ok',
    error_count: trace.spans.filter(isError).length,
    dropped_spans: trace.dropped_spans,
    evaluation_count: trace.evaluations.length,
  }
}

const SCORE_KEY = /^evaluation\.(.+)\.score$/

export function evaluationView(span: StoredSpan): EvaluationView {
  const scores: Record<string, number> = {}
  for (const [key, value] of Object.entries(span.attributes)) {
    const criterion = SCORE_KEY.exec(key)?.[1]
    if (criterion !== undefined && typeof value === 'number') scores[criterion] = value
  }
  const link = span.links.find((l) => l.attributes[LINK_ATTR.type] !== undefined) ?? span.links[0]
  return {
    id: text(span.attributes[EVAL_ATTR.id]) ?? null,
    name: text(span.attributes[EVAL_ATTR.name]) ?? span.name,
    scores,
    label: text(span.attributes[EVAL_ATTR.label]) ?? null,
    comment: text(span.attributes[EVAL_ATTR.comment]) ?? null,
    target: {
      trace_id: link?.trace_id ?? text(span.attributes[EVAL_ATTR.targetTraceId]) ?? '',
      span_id: link?.span_id ?? text(span.attributes[EVAL_ATTR.targetSpanId]) ?? '',
    },
    link_attributes: link?.attributes ?? {},
    trace_context: { trace_id: span.trace_id, span_id: span.span_id },
    time: new Date(span.start_ms).toISOString(),
  }
}

/** The body of GET /v1/traces/{trace_id}. */
export function traceDocument(trace: StoredTrace, links: { page: string; ui: string | null }) {
  return {
    object: 'trace',
    trace_id: trace.trace_id,
    summary: summarize(trace),
    spans: spanTree(trace),
    evaluations: trace.evaluations.map(evaluationView),
    links,
  }
}
