// Trace lookup: GET /v1/traces/{trace_id} (the span tree as JSON), GET /v1/traces (recent ones:
// model calls, agent runs and evaluations, or every trace with ?all=1), and the same as pages,
// GET /traces/{trace_id} (the X-ray) and GET /traces. All read the
// in-memory trace store; a miss says why (evicted, not finished, not sampled, store off …).
// These requests are not traced themselves (telemetry/setup.ts): looking at a trace must not make
// new ones, in the store or in the backend.
import type { FastifyInstance, FastifyReply } from 'fastify'
import { GatewayError, invalidRequest } from '../../errors.ts'
import type { TelemetryMode } from '../../telemetry/setup.ts'
import type { TraceLookup } from '../../telemetry/span-hand-off.ts'
import type { TraceStoreStats } from '../../telemetry/trace-store.ts'
import { formatBytes, formatTime, PAGE_CSP } from './html.ts'
import { renderTraceList } from './list-page.ts'
import { renderMessagePage, renderTracePage } from './trace-page.ts'
import { traceLinkHeader, traceUiUrl } from './trace-ui-link.ts'
import { summarize, traceDocument } from './trace-view.ts'

export interface TraceRoutesDeps {
  /** Undefined when TRACE_STORE_MAX_TRACES=0 (or the gateway runs no tracing of its own). */
  store: TraceLookup | undefined
  telemetryMode: TelemetryMode
  traceUiUrl: string | undefined
}

const TRACE_ID = /^[0-9a-f]{32}$/
const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000

function traceIdParam(raw: string): string {
  const id = raw.trim().toLowerCase()
  if (!TRACE_ID.test(id)) {
    throw invalidRequest(
      `\`trace_id\` must be the 32 hexadecimal characters of a trace id (the x-trace-id header or trace_context.trace_id of an answer), got "${raw.slice(0, 64)}".`,
      'trace_id',
    )
  }
  return id
}

function limitParam(query: unknown): number {
  const raw = (query as { limit?: unknown }).limit
  if (raw === undefined) return DEFAULT_LIMIT
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw invalidRequest(`\`limit\` must be a whole number from 1 to ${MAX_LIMIT}.`, 'limit')
  }
  return value
}

/** `?all=1`: list every trace, not only the model calls, agent runs and evaluations (trace-view.ts, isListedByDefault). */
function allParam(query: unknown): boolean {
  const raw = (query as { all?: unknown }).all
  if (raw === undefined || raw === '0' || raw === 'false') return false
  if (raw === '1' || raw === 'true') return true
  throw invalidRequest('`all` must be 1 (every trace) or 0 (model calls, agent runs and evaluations only, the default).', 'all')
}

/** Why there is no store to read, or undefined when there is one being fed. */
function storeUnavailable(deps: TraceRoutesDeps): string | undefined {
  if (deps.telemetryMode === 'disabled') return 'Telemetry is off (OTEL_SDK_DISABLED=true): there are no traces to look up.'
  if (deps.telemetryMode === 'preloaded') {
    return 'The gateway uses the TracerProvider the operator preloaded (node --import …), so its own trace store is not fed: look the trace up in the backend that provider exports to.'
  }
  if (!deps.store) {
    return `The trace store is disabled (TRACE_STORE_MAX_TRACES=0): look the trace up in your tracing backend${deps.traceUiUrl ? ` (${deps.traceUiUrl})` : ''}.`
  }
  return undefined
}

function notHeld(stats: TraceStoreStats, oldest: number | undefined, traceId: string, uiTemplate: string | undefined): string {
  const holding = stats.traces === 0 ? 'it holds none yet' : `it holds ${stats.traces} now, the oldest started ${formatTime(oldest ?? 0)}`
  const elsewhere = traceUiUrl(uiTemplate, traceId)
  return (
    `Trace ${traceId} is not in the gateway's store of recent traces. The store keeps the latest ` +
    `${stats.max_traces} traces within ${formatBytes(stats.max_bytes)} (TRACE_STORE_MAX_TRACES, TRACE_STORE_MAX_BYTES); ${holding}. ` +
    'The trace may have been evicted, may still be running (spans are stored as they end), may not have been sampled ' +
    '(OTEL_TRACES_SAMPLER), or may belong to another gateway instance or a restarted one.' +
    (elsewhere ? ` Your tracing backend may still have it: ${elsewhere}` : '')
  )
}

/** A lookup the trace store (in the telemetry worker) could not answer: the worker stopped. */
async function fromStore<T>(lookup: () => Promise<T>): Promise<T> {
  try {
    return await lookup()
  } catch (error) {
    throw new GatewayError('unavailable', `The trace store cannot be read: ${(error as Error).message}.`, { code: 'trace_store_unavailable' })
  }
}

/** fromStore() for the pages: a store that cannot be read is said on a page (undefined: it was sent). */
async function pageFromStore<T>(reply: FastifyReply, lookup: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fromStore(lookup)
  } catch (error) {
    sendPage(reply, 503, renderMessagePage('Trace store unavailable', (error as Error).message))
    return undefined
  }
}

function sendPage(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .headers({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PAGE_CSP,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    })
    .send(body)
}

export function traceRoutes(app: FastifyInstance, deps: TraceRoutesDeps): void {
  const { store } = deps

  app.get('/v1/traces', async (request) => {
    const query = { limit: limitParam(request.query), all: allParam(request.query) }
    const reason = storeUnavailable(deps)
    if (reason || !store) throw new GatewayError('not_found', reason ?? '', { code: 'trace_store_unavailable' })
    const { traces, stats } = await fromStore(() => store.recent(query.limit, query.all))
    return { object: 'list', data: traces.map(summarize), all: query.all, store: stats }
  })

  app.get<{ Params: { trace_id: string } }>('/v1/traces/:trace_id', async (request, reply) => {
    const traceId = traceIdParam(request.params.trace_id)
    reply.headers(traceLinkHeader(deps.traceUiUrl, traceId))
    const reason = storeUnavailable(deps)
    if (reason || !store) throw new GatewayError('not_found', reason ?? '', { code: 'trace_store_unavailable' })
    const found = await fromStore(() => store.get(traceId))
    if (!found.trace) throw new GatewayError('not_found', notHeld(found.stats, found.oldestStartMs, traceId, deps.traceUiUrl), { code: 'trace_not_found' })
    const trace = found.trace
    return traceDocument(trace, { page: `/traces/${traceId}`, ui: traceUiUrl(deps.traceUiUrl, traceId) ?? null })
  })

  app.get('/traces', async (request, reply) => {
    const query = { limit: limitParam(request.query), all: allParam(request.query) }
    const reason = storeUnavailable(deps)
    if (reason || !store) return sendPage(reply, 404, renderMessagePage('No trace store', reason ?? ''))
    const listed = await pageFromStore(reply, () => store.recent(query.limit, query.all))
    if (!listed) return reply
    const { traces, stats } = listed
    return sendPage(reply, 200, renderTraceList(traces.map(summarize), stats, Date.now(), query))
  })

  app.get<{ Params: { trace_id: string } }>('/traces/:trace_id', async (request, reply) => {
    let traceId: string
    try {
      traceId = traceIdParam(request.params.trace_id)
    } catch (error) {
      return sendPage(reply, 400, renderMessagePage('Not a trace id', (error as Error).message))
    }
    reply.headers(traceLinkHeader(deps.traceUiUrl, traceId))
    const reason = storeUnavailable(deps)
    if (reason || !store) return sendPage(reply, 404, renderMessagePage('No trace store', reason ?? ''))
    const found = await pageFromStore(reply, () => store.get(traceId))
    if (!found) return reply
    if (!found.trace) return sendPage(reply, 404, renderMessagePage('Trace not found', notHeld(found.stats, found.oldestStartMs, traceId, deps.traceUiUrl)))
    return sendPage(reply, 200, renderTracePage(found.trace, { json: `/v1/traces/${traceId}`, ui: traceUiUrl(deps.traceUiUrl, traceId) ?? null }))
  })
}
