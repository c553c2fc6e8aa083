// GET /traces: the recent traces the store holds, newest first, one line each — when, route,
// model, key (and team), duration (with a bar to compare at a glance), tokens, cost, status — linking to the X-ray.
// By default only the LLM traffic (trace-view.ts isListedByDefault); ?all=1 lists every trace.
import type { TraceStoreStats } from '../../telemetry/trace-store.ts'
import { TRACE_CSS } from './style.ts'
import { formatBytes, formatCost, formatCount, formatDuration, formatGap, formatTime, html, Html, page } from './html.ts'
import { statusBadge, type TraceSummary } from './trace-view.ts'

/** What the list shows, and the link to the other view (every trace, or the LLM traffic only). */
function scopeNote(all: boolean): Html {
  return all
    ? html`Showing every trace; <a class="scope" href="/traces">show only model calls, agent runs and evaluations</a>.`
    : html`Showing model calls, agent runs, evaluations and other POSTs; the rest (such as the SDKs' own <code>GET /v1/models</code> lookups) is hidden: <a class="scope" href="/traces?all=1">show all traces</a>.`
}

export function renderTraceList(summaries: TraceSummary[], stats: TraceStoreStats, now: number, query: { all: boolean }): string {
  const longest = Math.max(1, ...summaries.map((s) => s.duration_ms))
  const rows = summaries.map((s) => {
    const started = Date.parse(s.start_time)
    const badge = statusBadge(s)
    return html`<tr class="${s.status}" data-trace-id="${s.trace_id}">
<td title="${formatTime(started)}">${formatTime(started).slice(11, 23)} <span class="note">${formatGap(now - started)} ago</span></td>
<td class="route"><a href="/traces/${s.trace_id}">${s.root}</a></td>
<td>${s.model ?? '–'}${s.provider ? html` <span class="note">${s.provider}</span>` : ''}</td>
<td class="key">${s.key_name ?? '–'}${s.key_team ? html` <span class="note">${s.key_team}</span>` : ''}</td>
<td class="num">${formatDuration(s.duration_ms)}<span class="durbar" style="width:${((s.duration_ms / longest) * 80).toFixed(1)}px"></span></td>
<td class="num">${s.tokens ? `${formatCount(s.tokens.input)} / ${formatCount(s.tokens.output)}` : '–'}</td>
<td class="num">${formatCost(s.cost_usd)}</td>
<td><span class="pill ${badge.kind}">${badge.text}</span>${s.error_count ? html` <span class="badge err">${s.error_count} failed span${s.error_count === 1 ? '' : 's'}</span>` : ''}</td>
<td class="num">${s.span_count}</td>
<td class="num">${s.evaluation_count ? html`<span class="badge eval">★ ${s.evaluation_count}</span>` : ''}</td>
<td><a href="/traces/${s.trace_id}" title="${s.trace_id}"><code>${s.trace_id.slice(0, 12)}…</code></a></td>
</tr>`
  })
  const body = html`<h1>Recent traces</h1>
<p class="note">${formatCount(stats.traces)} traces held (at most ${formatCount(stats.max_traces)}, ${formatBytes(stats.bytes)} of ${formatBytes(stats.max_bytes)}), newest first${stats.evicted_traces ? `; ${formatCount(stats.evicted_traces)} older ones evicted` : ''}. Open one for its X-ray; <code>GET /v1/traces/{trace_id}</code> gives the same as JSON.</p>
<p class="note">${scopeNote(query.all)}</p>
${summaries.length === 0
  ? html`<p class="empty">No ${query.all || stats.traces === 0 ? 'traces' : 'model calls'} yet. Send a request (e.g. <code>POST /v1/chat/completions</code> with model <code>demo-chat</code>) and it appears here.</p>`
  : html`<table class="traces">
<thead><tr><th>started (UTC)</th><th>request</th><th>model</th><th>key</th><th class="num">duration</th><th class="num">tokens in / out</th><th class="num">cost</th><th>status</th><th class="num">spans</th><th class="num">evals</th><th>trace_id</th></tr></thead>
<tbody>${rows}</tbody>
</table>`}`
  return page('Recent traces · sik-llms-gateway', TRACE_CSS, body)
}
