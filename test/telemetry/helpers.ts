// Shared by the telemetry tests: W3C ids, raw HTTP calls to the gateway (to see error bodies and
// headers exactly as sent), and the span chain of one chat request as the receiver got it.
import { randomBytes } from 'node:crypto'
import { startGateway, type GatewayProcess, type StartOptions } from '../support/gateway.ts'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { openaiStreamChunks, providerEnv, startUpstream, type Upstream } from '../support/upstream.ts'

export interface TraceContextBody {
  trace_id: string
  span_id: string
}

export function randomTraceId(): string {
  return randomBytes(16).toString('hex')
}

export function randomSpanId(): string {
  return randomBytes(8).toString('hex')
}

export function traceparent(traceId: string, parentId: string, sampled = true): string {
  return `00-${traceId}-${parentId}-${sampled ? '01' : '00'}`
}

export interface RawAnswer {
  status: number
  headers: Headers
  text: string
  /** The JSON body, or for a stream the parsed `data:` chunks (without `[DONE]`). */
  json: Record<string, unknown>
  chunks: Array<Record<string, unknown>>
}

/** POST /v1/chat/completions with fetch: the body as sent, headers and status untouched. */
export async function postChat(
  baseUrl: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream')
  const chunks = isStream ? (openaiStreamChunks(text) as unknown as Array<Record<string, unknown>>) : []
  const json = isStream ? {} : (JSON.parse(text) as Record<string, unknown>)
  return { status: response.status, headers: response.headers, text, json, chunks }
}

export interface ChatSpans {
  all: ReceivedSpan[]
  server: ReceivedSpan | undefined
  request: ReceivedSpan | undefined
  provider: ReceivedSpan | undefined
  http: ReceivedSpan | undefined
}

/**
 * Waits for one chat request's spans: `expected` spans of the trace, the HTTP SERVER span (when
 * `withServer`) and `llm.request` among them, then names them by role.
 */
export async function chatSpans(
  receiver: OtlpReceiver,
  traceId: string,
  options: { expected?: number; withServer?: boolean } = {},
): Promise<ChatSpans> {
  const { expected = 4, withServer = true } = options
  await receiver.waitFor(() => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId)
    return (
      spans.length >= expected &&
      spans.some((s) => s.name === 'llm.request') &&
      (!withServer || spans.some((s) => s.kind === 'SERVER'))
    )
  }, WAIT_MS)
  const all = receiver.spans.filter((s) => s.traceId === traceId)
  return {
    all,
    server: all.find((s) => s.kind === 'SERVER'),
    request: all.find((s) => s.name === 'llm.request'),
    provider: all.find((s) => s.kind === 'CLIENT' && /^llm\.[^.]+\.(chat|stream)$/.test(s.name)),
    http: all.find(isUpstreamHttpSpan),
  }
}

/** The HTTP CLIENT span of an upstream call (named after its method, SPEC §2.1). */
export const isUpstreamHttpSpan = (span: ReceivedSpan) => span.kind === 'CLIENT' && span.name === 'POST'

/** Span ids from `span` up to the root (the first id is its parent's), within received spans. */
export function ancestorIds(receiver: OtlpReceiver, span: ReceivedSpan): string[] {
  const byId = new Map(receiver.spans.filter((s) => s.traceId === span.traceId).map((s) => [s.spanId, s]))
  const out: string[] = []
  let parent = span.parentSpanId
  while (parent && out.length < 50) {
    out.push(parent)
    parent = byId.get(parent)?.parentSpanId ?? ''
  }
  return out
}

/** Every string anywhere in an attribute value (arrays and maps included). */
export function attributeStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(attributeStrings)
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...attributeStrings(v)])
  return value === null || value === undefined ? [] : [String(value)]
}

/** Generous: tap runs test files in parallel, and a loaded machine starts Node slowly. */
export const STARTUP_MS = 45_000
/** How long to wait for telemetry that should arrive within a fraction of a second. */
export const WAIT_MS = 20_000

/** Starts several gateways at once; if one fails to start, the others are stopped again. */
export async function startGateways(options: StartOptions[]): Promise<GatewayProcess[]> {
  const started = await Promise.allSettled(options.map((o) => startGateway({ timeoutMs: STARTUP_MS, ...o })))
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  if (failed) {
    await Promise.all(running.map((g) => g.stop()))
    throw failed.reason
  }
  return running
}

/**
 * A gateway exporting to a fresh OTLP receiver, with OpenAI and Anthropic sent to a fresh upstream
 * emulator, plus `env` (made from the emulator when a function); all three stopped at `t`'s teardown.
 */
export async function startObservedGateway(
  t: { teardown(fn: () => unknown): void },
  env: Record<string, string> | ((upstream: Upstream) => Record<string, string>) = {},
): Promise<{ gateway: GatewayProcess; receiver: OtlpReceiver; upstream: Upstream }> {
  const receiver = await startOtlpReceiver()
  const upstream = await startUpstream()
  const extra = typeof env === 'function' ? env(upstream) : env
  const gateway = await startGateway({
    timeoutMs: STARTUP_MS,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...providerEnv(upstream), ...extra },
  })
  t.teardown(async () => {
    await gateway.stop()
    await Promise.all([receiver.close(), upstream.close()])
  })
  return { gateway, receiver, upstream }
}
