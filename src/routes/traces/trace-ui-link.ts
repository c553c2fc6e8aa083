// Where a trace can be seen in the operator's trace UI (TRACE_UI_URL, e.g. Jaeger's
// `http://localhost:16686/trace/{trace_id}`): the `Link: <…>; rel="trace"` header of every answer
// and the "Open in trace UI" link of the pages.

export function traceUiUrl(template: string | undefined, traceId: string | undefined): string | undefined {
  return template && traceId ? template.replaceAll('{trace_id}', traceId) : undefined
}

export function traceLinkHeader(template: string | undefined, traceId: string | undefined): Record<string, string> {
  const target = traceUiUrl(template, traceId)
  return target ? { link: `<${target}>; rel="trace"` } : {}
}
