// The trace pages' only stylesheet, inlined into each page (the CSP allows inline style and
// nothing else). Colours say what a span is: the same colour in the bar, the icon and the legend.
export const TRACE_CSS = `
:root {
  --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #ffffff; --panel: #f8fafc;
  --server: #64748b; --agent: #0d9488; --iteration: #0ea5e9; --llm: #2563eb; --provider: #7c3aed;
  --client: #94a3b8; --tool: #ea580c; --evaluation: #16a34a; --other: #a3a3a3; --error: #dc2626;
  --name-col: 560px;
}
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 28px 40px; font: 14px/1.45 "DejaVu Sans", system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: #1d4ed8; text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
h1 { font-size: 21px; margin: 4px 0 10px; display: flex; align-items: center; gap: 10px; }
h2 { font-size: 15px; margin: 26px 0 8px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
nav.crumbs { display: flex; gap: 18px; font-size: 13px; margin-bottom: 6px; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.pill.ok { background: #dcfce7; color: #166534; }
.pill.error { background: #fee2e2; color: #991b1b; }
.pill.warn { background: #fef3c7; color: #92400e; }
.pill.label { background: #e0e7ff; color: #3730a3; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 0; padding: 12px 16px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
.facts div { min-width: 90px; }
.facts dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.facts dd { margin: 0; font-size: 16px; font-weight: 600; }
.ids { color: var(--muted); font-size: 12.5px; margin: 8px 0 0; }
.note { color: var(--muted); font-size: 13px; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12px; color: var(--muted); margin: 6px 0 10px; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; background: var(--c); }

/* X-ray: one grid row per span, names on the left, bars on a shared time axis on the right. */
.xray { border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.axis, .span > summary { display: grid; grid-template-columns: var(--name-col) 1fr; }
.axis { background: var(--panel); border-bottom: 1px solid var(--line); font-size: 11.5px; color: var(--muted); height: 28px; }
.axis .axis-name { padding: 6px 12px; }
.axis .ticks { position: relative; margin: 0 64px 0 12px; }
.axis .ticks span { position: absolute; top: 6px; transform: translateX(-50%); white-space: nowrap; }
.axis .ticks span:first-child { transform: none; }
.axis .ticks span:last-child { transform: translateX(-100%); }
.span > summary { list-style: none; cursor: pointer; min-height: 30px; border-bottom: 1px solid #f1f5f9; }
.span > summary::-webkit-details-marker { display: none; }
.span > summary:hover { background: #f8fafc; }
.span[open] > summary { background: #eff6ff; }
.span .name { display: flex; align-items: center; gap: 6px; padding: 4px 10px 4px 12px; overflow: hidden; white-space: nowrap; border-right: 1px solid var(--line); }
.span .caret { color: var(--muted); font-size: 10px; width: 10px; flex: none; }
.span[open] .caret { transform: rotate(90deg); }
.span .icon { width: 18px; height: 18px; flex: none; border-radius: 4px; color: #fff; font-size: 11px; line-height: 18px; text-align: center; background: var(--c); }
.span .span-name { flex: none; font-weight: 500; }
.badge { flex: 0 1 auto; overflow: hidden; text-overflow: ellipsis; font-size: 11px; padding: 0 6px; border-radius: 4px; background: #f1f5f9; color: #334155; }
.badge.tool { background: #ffedd5; color: #9a3412; font-weight: 600; }
.badge.cost { background: #ecfdf5; color: #065f46; }
.badge.err { background: #fee2e2; color: #991b1b; font-weight: 600; }
.badge.eval { background: #dcfce7; color: #166534; font-weight: 600; }
.lane { position: relative; margin: 0 64px 0 12px; background-image: repeating-linear-gradient(to right, transparent 0, transparent calc(25% - 1px), #eef2f7 calc(25% - 1px), #eef2f7 25%); }
.bar { position: absolute; top: 8px; height: 14px; min-width: 2px; border-radius: 3px; background: var(--c); }
.dur { position: absolute; top: 6px; font-size: 11.5px; color: #475569; white-space: nowrap; padding: 0 6px; }
.dur.before { transform: translateX(-100%); }
.span.error > summary .span-name { color: var(--error); font-weight: 700; }
.span.error .bar { background: var(--error); box-shadow: 0 0 0 1px #7f1d1d inset; }
.detail { padding: 8px 16px 14px calc(var(--indent, 0px) + 40px); background: #fbfdff; border-bottom: 1px solid var(--line); }
.detail .status-message { color: var(--error); font-weight: 600; margin: 4px 0 8px; }
table.attrs { border-collapse: collapse; font-size: 12.5px; }
table.attrs td { padding: 2px 14px 2px 0; vertical-align: top; }
table.attrs td:first-child { color: var(--muted); white-space: nowrap; }
table.attrs pre { margin: 0; max-height: 240px; max-width: 900px; overflow: auto; white-space: pre-wrap; word-break: break-word; background: #f1f5f9; padding: 4px 6px; border-radius: 4px; }

.k-server { --c: var(--server); } .k-agent { --c: var(--agent); } .k-iteration { --c: var(--iteration); }
.k-llm { --c: var(--llm); } .k-provider { --c: var(--provider); } .k-client { --c: var(--client); }
.k-tool { --c: var(--tool); } .k-evaluation { --c: var(--evaluation); } .k-other { --c: var(--other); }
.span.error { --c: var(--error); }

/* Evaluations panel */
.evaluations { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 12px; }
.evaluation { border: 1px solid #bbf7d0; background: #f0fdf4; border-radius: 8px; padding: 10px 14px; }
.evaluation h3 { margin: 0 0 6px; font-size: 15px; display: flex; gap: 8px; align-items: center; }
.evaluation .star { color: var(--evaluation); }
.scores { list-style: none; padding: 0; margin: 0 0 6px; }
.scores li { display: grid; grid-template-columns: 140px 1fr 60px; align-items: center; gap: 8px; font-size: 13px; }
.scores .meter { height: 8px; background: #dcfce7; border-radius: 4px; position: relative; overflow: hidden; }
.scores .meter.none { background: none; }
.scores .meter i { position: absolute; inset: 0 auto 0 0; background: var(--evaluation); border-radius: 4px; }
.scores .value { font-weight: 700; text-align: right; }
.evaluation .comment { margin: 4px 0; font-style: italic; }
.evaluation .meta { margin: 4px 0 0; font-size: 12px; color: var(--muted); }

/* List of recent traces */
table.traces { width: 100%; border-collapse: collapse; font-size: 13px; }
table.traces th { white-space: nowrap; text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); border-bottom: 2px solid var(--line); padding: 6px 10px; }
table.traces td { border-bottom: 1px solid #f1f5f9; padding: 6px 10px; white-space: nowrap; }
table.traces td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.traces tr:hover td { background: #f8fafc; }
table.traces tr.error td.route a { color: var(--error); font-weight: 700; }
.durbar { display: inline-block; height: 8px; border-radius: 3px; background: var(--llm); vertical-align: middle; margin-left: 8px; min-width: 2px; }
tr.error .durbar { background: var(--error); }
.empty { padding: 28px; border: 1px dashed var(--line); border-radius: 8px; color: var(--muted); }
`
