// buildServer: the Fastify app with its hooks and routes, without listening (main.ts listens;
// tests may inject). Cross-cutting rules live here once: auth, trace headers on every answer,
// one log line per request, and every error in OpenAI's shape.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import { createHash, timingSafeEqual } from 'node:crypto'
import { context } from '@opentelemetry/api'
import { getRPCMetadata, RPCType } from '@opentelemetry/core'
import type { Config } from './config.ts'
import type { ChatService } from './core/chat.ts'
import type { ModelRouter } from './core/router.ts'
import { GatewayError, asGatewayError, invalidRequest } from './errors.ts'
import { registerJsonBodies } from './json-body.ts'
import type { ReasoningAgent } from './agent/loop.ts'
import type { Toolbox } from './agent/toolbox.ts'
import { agentRoutes, type ToolHealthSource } from './routes/agents/route.ts'
import { chatCompletionsRoute } from './routes/chat-completions/route.ts'
import { evaluationsRoute } from './routes/evaluations/route.ts'
import { modelsRoute, type ModelEntry } from './routes/models.ts'
import { opsRoutes } from './routes/ops.ts'
import { traceRoutes } from './routes/traces/route.ts'
import { traceLinkHeader } from './routes/traces/trace-ui-link.ts'
import type { TraceIds } from './telemetry/llm-call.ts'
import type { Telemetry } from './telemetry/setup.ts'
import type { TraceStore } from './telemetry/trace-store.ts'
import { activeTraceIds, traceContextBody, traceHeaders } from './telemetry/trace-context.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The ids returned to the caller: the llm.request span once there is one, else the server span. */
    traceIds: TraceIds | undefined
    llmModel: string | undefined
  }
}

export interface ServerDeps {
  config: Config
  logger: FastifyBaseLogger
  telemetry: Telemetry
  chat: ChatService
  router: ModelRouter
  models: ModelEntry[]
  agent: ReasoningAgent
  toolbox: Toolbox
  mcp: ToolHealthSource | undefined
  /** Recent traces for the lookup routes; undefined when TRACE_STORE_MAX_TRACES=0. */
  traceStore: TraceStore | undefined
  isDraining: () => boolean
}

const PUBLIC_PATHS = new Set(['/health', '/ready', '/metrics'])

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Compares against every key with timingSafeEqual on fixed-length digests: no early exit. */
function keyChecker(keys: string[]): (presented: string) => boolean {
  const digests = keys.map(digest)
  return (presented) => {
    const candidate = digest(presented)
    let ok = false
    for (const d of digests) ok = timingSafeEqual(d, candidate) || ok
    return ok
  }
}

/** ajv's `/messages/0/content` → OpenAI's `messages[0].content`. */
function paramOf(instancePath: string, missing?: string): string | null {
  const path = instancePath
    .split('/')
    .filter(Boolean)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('')
  const full = missing ? (path ? `${path}.${missing}` : missing) : path
  return full || null
}

/**
 * The error to report among ajv's: the most specific one. A value failing an `anyOf` yields one
 * error per branch (`must be string`, `must be null` …) before the one that says what is really
 * wrong deeper down, e.g. `messages[0].content[0].type` missing; the deepest path names it.
 */
function mostSpecific(errors: NonNullable<FastifyError['validation']>): (typeof errors)[number] {
  let best = errors[0]!
  // A missing property names one level below the object that lacks it (`tool_choice.function`).
  const depth = (error: typeof best) =>
    error.instancePath.split('/').length + ((error.params as { missingProperty?: string }).missingProperty ? 1 : 0)
  for (const candidate of errors) {
    if (candidate.keyword === 'anyOf' || candidate.keyword === 'if') continue
    if (depth(candidate) > depth(best)) best = candidate
  }
  return best
}

function toGatewayError(error: FastifyError): GatewayError {
  if (error instanceof GatewayError) return error
  if (error.validation?.length) {
    const first = mostSpecific(error.validation)
    const missing = (first.params as { missingProperty?: string }).missingProperty
    const param = paramOf(first.instancePath, missing)
    const allowed = (first.params as { allowedValues?: unknown[] }).allowedValues
    const detail = allowed ? `${first.message}: ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : first.message
    const message = missing ? `Missing required field \`${param}\`.` : `Invalid value for \`${param ?? 'body'}\`: ${detail}.`
    return invalidRequest(message, param)
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('payload_too_large', 'The request body is larger than BODY_LIMIT_BYTES allows.')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError('unsupported_media_type', 'Send the body as JSON with content-type: application/json.')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidRequest('The request body is empty; send a JSON object.')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return invalidRequest(`The request body is not valid JSON: ${error.message}`)
  }
  if (error instanceof SyntaxError) return invalidRequest(`The request body is not valid JSON: ${error.message}`)
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) return new GatewayError('invalid_request', error.message, { status, code: null })
  return asGatewayError(error)
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { config, logger } = deps
  const app = Fastify({
    loggerInstance: logger,
    // One line per request is written by the onResponse hook below, with the trace ids.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Idle keep-alive sockets are closed on shutdown; in-flight requests are let finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  })
  registerJsonBodies(app)
  app.decorateRequest('traceIds', undefined)
  app.decorateRequest('llmModel', undefined)

  const isKey = config.apiKeys.length > 0 ? keyChecker(config.apiKeys) : undefined

  app.addHook('onRequest', async (request, reply) => {
    request.traceIds = activeTraceIds()
    // Names the HTTP SERVER span after the route (`POST /v1/chat/completions`) and sets http.route.
    const rpc = getRPCMetadata(context.active())
    if (rpc?.type === RPCType.HTTP) rpc.route = request.routeOptions.url ?? request.url
    // Set now, not in onSend: the streaming routes hijack the reply, which skips onSend, and
    // writeEventStream keeps the headers set on the reply. The trace id never changes afterwards.
    if (config.traceUiUrl) reply.headers(traceLinkHeader(config.traceUiUrl, request.traceIds?.trace_id))
    if (!isKey || PUBLIC_PATHS.has(request.url.split('?')[0] ?? '')) return
    const header = request.headers.authorization ?? ''
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : ''
    if (!token) {
      throw new GatewayError('unauthorized', 'Missing gateway API key: send `Authorization: Bearer <key>`.', { code: 'missing_api_key' })
    }
    if (!isKey(token)) {
      throw new GatewayError('unauthorized', 'Unknown gateway API key.', { code: 'invalid_api_key' })
    }
  })

  app.addHook('onSend', async (request, reply) => {
    if (request.traceIds && !reply.hasHeader('x-trace-id')) reply.headers(traceHeaders(request.traceIds))
    // Ids known only once the route ran (no HTTP server span, e.g. a preloaded setup without it).
    if (config.traceUiUrl && !reply.hasHeader('link')) reply.headers(traceLinkHeader(config.traceUiUrl, request.traceIds?.trace_id))
  })

  app.addHook('onResponse', async (request, reply) => {
    const ids = request.traceIds
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 10) / 10,
        model: request.llmModel,
        trace_id: ids?.trace_id,
        span_id: ids?.span_id,
      },
      'request',
    )
  })

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const failure = toGatewayError(error)
    if (failure.kind === 'internal') request.log.error({ err: error }, 'unhandled error')
    const ids = request.traceIds
    reply.code(failure.status).headers(failure.headers)
    return { ...failure.toBody(), trace_context: traceContextBody(ids) }
  })

  app.setNotFoundHandler(async (request) => {
    throw new GatewayError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}.`)
  })

  opsRoutes(app, deps.telemetry, deps.isDraining)
  modelsRoute(app, deps.router, deps.models)
  chatCompletionsRoute(app, deps.chat)
  agentRoutes(app, deps.agent, deps.toolbox, deps.mcp)
  evaluationsRoute(app, deps.telemetry.mode)
  traceRoutes(app, { store: deps.traceStore, telemetryMode: deps.telemetry.mode, traceUiUrl: config.traceUiUrl })
  return app
}
