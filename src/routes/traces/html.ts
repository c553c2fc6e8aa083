// HTML for the trace pages: a template tag that escapes every interpolated value unless it is
// already HTML made by the tag, so span names and attribute values — user content when capture
// is on — can never become markup. Plus the number formats the pages share.

/** Markup produced by `html`; only this is inserted without escaping. */
export class Html {
  readonly value: string
  constructor(value: string) {
    this.value = value
  }
  toString(): string {
    return this.value
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

function fragment(value: unknown): string {
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(fragment).join('')
  if (value === undefined || value === null || value === false) return ''
  return escapeHtml(String(value))
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? ''
  for (let i = 0; i < values.length; i++) out += fragment(values[i]) + (strings[i + 1] ?? '')
  return new Html(out)
}

/** The page itself, with its inline style; nothing is fetched from anywhere. */
export function page(title: string, css: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>${new Html(css)}</style>
</head>
<body>
${body}
</body>
</html>
`.value
}

/** No script, no fetch, no frame: the page is inline HTML and CSS only. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–'
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 10) return `${ms.toFixed(1)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`
}

export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '–'
  if (usd === 0) return '$0'
  if (usd < 0.01) return `$${usd.toPrecision(2)}`
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

/** `2025-06-01 14:03:07.123 UTC` */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC')
}

/** `3 min ago`, `2 h after` … between two instants. */
export function formatGap(ms: number): string {
  const s = Math.abs(ms) / 1000
  if (s < 60) return `${Math.round(s)} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  if (s < 86_400) return `${(s / 3600).toFixed(1)} h`
  return `${(s / 86_400).toFixed(1)} days`
}
