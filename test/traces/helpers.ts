// Shared by the trace-lookup and evaluation tests: raw HTTP calls (status, headers and body as
// sent) and a wait for a trace to be complete in the gateway's store — spans are stored as they
// end, and the HTTP server span ends just after the caller has the answer.
import { setTimeout as sleep } from 'node:timers/promises'

/** Bodies read loosely: the assertions say what must be there. */
export type Json = Record<string, any>

export interface Answer {
  status: number
  headers: Headers
  text: string
  json: Json
}

export async function call(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  })
  const text = await response.text()
  let json: Json = {}
  try {
    json = JSON.parse(text) as Json
  } catch {}
  return { status: response.status, headers: response.headers, text, json }
}

export interface StoredSpanJson {
  trace_id: string
  span_id: string
  parent_span_id: string | null
  name: string
  kind: string
  duration_ms: number
  status: { code: string; message?: string }
  attributes: Json
  links: Array<{ trace_id: string; span_id: string; attributes: Json }>
  children: StoredSpanJson[]
}

/** Every span of a GET /v1/traces/{id} body, depth first. */
export function allSpans(document: Json): StoredSpanJson[] {
  const out: StoredSpanJson[] = []
  const walk = (nodes: StoredSpanJson[]) => {
    for (const node of nodes) {
      out.push(node)
      walk(node.children)
    }
  }
  walk(document.spans as StoredSpanJson[])
  return out
}

/**
 * Polls GET /v1/traces/{id} until `ready` says the trace is whole (by default: its HTTP server
 * span, which ends last, is there); returns the body.
 */
export async function waitForTrace(
  baseUrl: string,
  traceId: string,
  ready: (document: Json) => boolean = (d) => allSpans(d).some((s) => s.kind === 'SERVER'),
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Json> {
  const deadline = Date.now() + timeoutMs
  let last: Answer | undefined
  while (Date.now() < deadline) {
    last = await call(`${baseUrl}/v1/traces/${traceId}`, { headers })
    if (last.status === 200 && ready(last.json)) return last.json
    await sleep(25)
  }
  throw new Error(`trace ${traceId} not complete in the store in time: ${last?.status} ${last?.text.slice(0, 400)}`)
}

export const CHAT = { model: 'demo-chat', messages: [{ role: 'user', content: 'Hello there' }] }
export const SOLVE = { model: 'demo-chat', messages: [{ role: 'user', content: 'Solve: 15 * 23 + 7' }] }
