// GET /traces/{trace_id}: the guide's "X-ray" of one trace as a self-contained page. Every span
// is a row — icon, name, tokens, cost, tool and error marks — with its bar on a time axis shared
// by the whole trace; a row opens (<details>, no script) onto its attributes. Evaluations linked
// to the trace sit above, and the span they evaluate carries their score.
import type { StoredSpan, StoredTrace, StoredValue } from '../../telemetry/trace-store.ts'
import { AGENT_ATTR, ATTR } from '../../telemetry/names.ts'
import { TRACE_CSS } from './style.ts'
import { formatCost, formatCount, formatDuration, formatGap, formatTime, html, Html, page } from './html.ts'
import { evaluationView, flatten, isAgentRun, isEvaluationSpan, isLlmRequest, isToolSpan, spanTree, statusBadge, summarize, type EvaluationView, type SpanNode } from './trace-view.ts'

/** What a span is, for its colour and icon (symbols every system font has; no emoji font needed). */
type Category = 'server' | 'agent' | 'iteration' | 'llm' | 'provider' | 'client' | 'tool' | 'evaluation' | 'other'

const ICONS: Record<Category, string> = {
  server: '⇄', agent: '❖', iteration: '↻', llm: '◆', provider: '☁', client: '↗', tool: '⚙', evaluation: '★', other: '•',
}

const LEGEND: Array<[Category, string]> = [
  ['server', 'HTTP request'], ['agent', 'agent run'], ['iteration', 'thinking iteration'], ['llm', 'llm.request'],
  ['provider', 'provider call'], ['client', 'HTTP client'], ['tool', 'tool call'], ['evaluation', 'evaluation'],
]

function categoryOf(span: StoredSpan): Category {
  if (isToolSpan(span)) return 'tool'
  if (isAgentRun(span)) return 'agent'
  if (isLlmRequest(span)) return 'llm'
  if (span.name.startsWith('reasoning.thinking.')) return 'iteration'
  if (isEvaluationSpan(span)) return 'evaluation'
  if (span.kind === 'SERVER') return 'server'
  if (span.kind === 'CLIENT') return /^llm\.[^.]+\.(chat|stream)$/.test(span.name) ? 'provider' : 'client'
  return 'other'
}

const num = (value: StoredValue | undefined) => (typeof value === 'number' ? value : undefined)

function formatValue(value: StoredValue): Html {
  const text = Array.isArray(value) ? JSON.stringify(value) : String(value)
  if (text.length > 120 || text.includes('\n')) return html`<pre>${text}</pre>`
  return html`<code>${text}</code>`
}

/** Why the span failed, or why its request was refused (a 4xx keeps an unset status, semconv's rule, and says why in error.message). */
function failureNote(span: StoredSpan): string | undefined {
  const refused = span.attributes[ATTR.errorMessage]
  return span.status.message || (typeof refused === 'string' ? refused : undefined)
}

function badges(span: StoredSpan, evaluations: EvaluationView[]): Html[] {
  const out: Html[] = []
  const a = span.attributes
  if (isToolSpan(span)) out.push(html`<span class="badge tool">tool ${String(a[AGENT_ATTR.toolName] ?? '')}</span>`)
  const input = num(a[ATTR.tokensInput])
  const output = num(a[ATTR.tokensOutput])
  if (input !== undefined || output !== undefined) {
    out.push(html`<span class="badge tokens">${formatCount(input ?? 0)} in · ${formatCount(output ?? 0)} out tok</span>`)
  }
  const cost = num(a[ATTR.costTotal])
  if (cost !== undefined) out.push(html`<span class="badge cost">${formatCost(cost)}</span>`)
  const ttft = num(a[ATTR.timeToFirstToken])
  if (ttft !== undefined) out.push(html`<span class="badge">TTFT ${formatDuration(ttft * 1000)}</span>`)
  if (span.status.code === 'ERROR' || a[ATTR.errorMessage] !== undefined) {
    out.push(html`<span class="badge err">⚠ ${String(a[ATTR.errorType] ?? 'error')}</span>`)
  }
  for (const evaluation of evaluations) {
    const scores = Object.entries(evaluation.scores).map(([c, v]) => `${c} ${v}`).join(', ')
    out.push(html`<a class="badge eval" href="#evaluations" title="${evaluation.name}: ${scores}">★ ${evaluation.name}</a>`)
  }
  return out
}

function spanRow(node: SpanNode, trace: StoredTrace, total: number, evaluations: EvaluationView[]): Html {
  const category = categoryOf(node)
  const left = total > 0 ? ((node.start_ms - trace.start_ms) / total) * 100 : 0
  const width = total > 0 ? (node.duration_ms / total) * 100 : 100
  const clampedLeft = Math.min(100, Math.max(0, left))
  const clampedWidth = Math.min(100 - clampedLeft, Math.max(0, width))
  // The duration label goes after the bar, or before it when the bar reaches the right edge.
  const labelAfter = clampedLeft + clampedWidth < 82
  const labelStyle = labelAfter ? `left:${(clampedLeft + clampedWidth).toFixed(3)}%` : `left:${clampedLeft.toFixed(3)}%`
  const classes = ['span', `k-${category}`, node.status.code === 'ERROR' ? 'error' : '', category === 'tool' ? 'tool' : '']
    .filter(Boolean)
    .join(' ')
  const attributes = Object.entries(node.attributes).sort(([a], [b]) => a.localeCompare(b))
  const indent = `${node.depth * 18}px`
  const note = failureNote(node)
  // A failed span opens on its status message and attributes: what went wrong is seen at once.
  return html`<details${node.status.code === 'ERROR' || note ? new Html(' open') : ''} class="${classes}" id="span-${node.span_id}" data-span-id="${node.span_id}" data-span-name="${node.name}" data-category="${category}" style="--indent:${indent}">
<summary>
<div class="name" style="padding-left:calc(12px + ${indent})"><span class="caret">▸</span><span class="icon" aria-hidden="true">${ICONS[category]}</span><span class="span-name" title="${node.name}">${node.name}</span>${badges(node, evaluations)}</div>
<div class="lane"><div class="bar" style="left:${clampedLeft.toFixed(3)}%;width:${clampedWidth.toFixed(3)}%"></div><span class="dur${labelAfter ? '' : ' before'}" style="${labelStyle}">${formatDuration(node.duration_ms)}</span></div>
</summary>
<div class="detail">
${note ? html`<p class="status-message">⚠ ${note}</p>` : ''}
<table class="attrs">
<tr><td>span_id</td><td><code>${node.span_id}</code> · ${node.kind} · ${node.scope}</td></tr>
<tr><td>parent</td><td><code>${node.parent_span_id ?? '(root)'}</code></td></tr>
<tr><td>start</td><td>+${formatDuration(node.start_ms - trace.start_ms)} · ${formatTime(node.start_ms)}</td></tr>
${attributes.map(([key, value]) => html`<tr><td>${key}</td><td>${formatValue(value)}</td></tr>`)}
${node.links.map((link) => html`<tr><td>link</td><td><a href="/traces/${link.trace_id}"><code>${link.trace_id}</code></a> span <code>${link.span_id}</code> ${formatValue(JSON.stringify(link.attributes))}</td></tr>`)}
</table>
</div>
</details>`
}

/** The scales a score is commonly given on; a criterion's bar is drawn on the smallest that holds its score. */
const SCORE_SCALES = [1, 5, 10, 100]

/**
 * One criterion of an evaluation card. Each criterion has its own scale (`accuracy 0.9` beside
 * `clarity 4` is 90 % and 80 %, not two shares of the larger score); a score on no common scale
 * (negative, above 100) is shown as a number without a bar rather than with a misleading one.
 */
function scoreItem(criterion: string, value: number): Html {
  const scale = value >= 0 ? SCORE_SCALES.find((top) => value <= top) : undefined
  const meter =
    scale === undefined
      ? html`<span class="meter none" title="${value}: not on a 0–1, 0–5, 0–10 or 0–100 scale"></span>`
      : html`<span class="meter" data-scale="${scale}" title="${value} on a 0–${scale} scale"><i style="width:${((value / scale) * 100).toFixed(1)}%"></i></span>`
  return html`<li><span class="criterion">${criterion}</span>${meter}<span class="value">${value}</span></li>`
}

function evaluationCard(evaluation: EvaluationView, trace: StoredTrace, spanNames: Map<string, string>): Html {
  const scores = Object.entries(evaluation.scores)
  const targetName = spanNames.get(evaluation.target.span_id)
  const linkAttributes = Object.entries(evaluation.link_attributes).filter(([key]) => key !== 'link.type')
  const gap = Date.parse(evaluation.time) - trace.end_ms
  return html`<article class="evaluation" data-evaluation-id="${evaluation.id ?? ''}" data-target-span-id="${evaluation.target.span_id}">
<h3><span class="star">★</span><span class="evaluation-name">${evaluation.name}</span>${evaluation.label === null ? '' : html`<span class="pill label">${evaluation.label}</span>`}</h3>
<ul class="scores">${scores.map(([criterion, value]) => scoreItem(criterion, value))}</ul>
${evaluation.comment === null ? '' : html`<p class="comment">“${evaluation.comment}”</p>`}
${linkAttributes.length ? html`<p class="meta">${linkAttributes.map(([k, v]) => html`<code>${k}=${String(v)}</code> `)}</p>` : ''}
<p class="meta">of ${targetName ? html`<a href="#span-${evaluation.target.span_id}">${targetName}</a>` : html`span <code>${evaluation.target.span_id}</code> (not in this trace)`} · posted ${formatGap(gap)} ${gap >= 0 ? 'after' : 'before'} the trace ended · <a href="/traces/${evaluation.trace_context.trace_id}">evaluation trace</a></p>
</article>`
}

export function renderTracePage(trace: StoredTrace, links: { json: string; ui: string | null }): string {
  const summary = summarize(trace)
  const badge = statusBadge(summary)
  const nodes = flatten(spanTree(trace))
  const total = Math.max(0, trace.end_ms - trace.start_ms)
  const evaluations = trace.evaluations.map(evaluationView)
  const byTarget = new Map<string, EvaluationView[]>()
  for (const evaluation of evaluations) {
    byTarget.set(evaluation.target.span_id, [...(byTarget.get(evaluation.target.span_id) ?? []), evaluation])
  }
  const spanNames = new Map(trace.spans.map((s) => [s.span_id, s.name]))
  const ticks = [0, 0.25, 0.5, 0.75, 1]
  const tokens = summary.tokens
  const body = html`<nav class="crumbs"><a href="/traces">← Recent traces</a><a href="${links.json}">JSON</a>${links.ui ? html`<a href="${links.ui}" rel="noreferrer">Open in trace UI ↗</a>` : ''}</nav>
<h1><span class="pill ${badge.kind}">${badge.text}</span><span class="root-name">${summary.root}</span></h1>
<dl class="facts">
<div><dt>duration</dt><dd>${formatDuration(summary.duration_ms)}</dd></div>
<div><dt>tokens</dt><dd>${tokens ? `${formatCount(tokens.input)} in · ${formatCount(tokens.output)} out` : '–'}</dd></div>
<div><dt>cost</dt><dd>${formatCost(summary.cost_usd)}</dd></div>
<div><dt>model</dt><dd>${summary.model ?? '–'}${summary.provider ? html` <span class="note">(${summary.provider})</span>` : ''}</dd></div>
${summary.key_name ? html`<div><dt>key</dt><dd class="key">${summary.key_name}${summary.key_team ? html` <span class="note">(team ${summary.key_team})</span>` : ''}</dd></div>` : ''}
${summary.user_id ? html`<div><dt>user</dt><dd class="user">${summary.user_id}</dd></div>` : ''}
<div><dt>spans</dt><dd>${summary.span_count}${summary.error_count ? html` <span class="badge err">${summary.error_count} failed</span>` : ''}</dd></div>
<div><dt>started</dt><dd>${formatTime(trace.start_ms)}</dd></div>
</dl>
<p class="ids">trace_id <code class="trace-id">${trace.trace_id}</code>${summary.dropped_spans ? html` · <strong>${summary.dropped_spans} spans not kept</strong> (per-trace limit of the store)` : ''}</p>
${evaluations.length ? html`<h2>Evaluations (${evaluations.length})</h2><section class="evaluations" id="evaluations">${evaluations.map((e) => evaluationCard(e, trace, spanNames))}</section>` : ''}
<h2>X-ray</h2>
<div class="legend">${LEGEND.map(([category, label]) => html`<span class="k-${category}">${label}</span>`)}<span style="--c:var(--error)">failed</span></div>
<section class="xray">
<div class="axis"><div class="axis-name">span (click a row for its attributes)</div><div class="ticks">${ticks.map((f) => html`<span style="left:${f * 100}%">${f === 0 ? '0' : formatDuration(total * f)}</span>`)}</div></div>
${nodes.map((node) => spanRow(node, trace, total, byTarget.get(node.span_id) ?? []))}
</section>`
  return page(`${summary.root} · ${formatDuration(summary.duration_ms)} · trace ${trace.trace_id.slice(0, 8)}`, TRACE_CSS, body)
}

/** A page that only says something: unknown trace, store off, bad id. */
export function renderMessagePage(title: string, message: string): string {
  return page(title, TRACE_CSS, html`<nav class="crumbs"><a href="/traces">← Recent traces</a></nav><h1>${title}</h1><p class="empty">${message}</p>`)
}
