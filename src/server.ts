// buildServer: the Fastify app with its hooks and routes, without listening (main.ts listens;
// tests may inject). Cross-cutting rules live here once: auth, trace headers on every answer,
// one log line per request, and every error in OpenAI's shape.
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import { createAuthenticator, refusal, type Authenticator } from './auth.ts'
import { checkModelAllowed } from './keys/allow-list.ts'
import { adminKeyRoutes, type AdminKeyDeps } from './routes/admin/keys.ts'
import type { Principal } from './keys/principal.ts'
import { limitsPreHandler } from './limits/http.ts'
import type { Limits } from './limits/limits.ts'
import type { Spent } from './core/types.ts'
import type { Config } from './config.ts'
import type { Dispatch } from './core/dispatch.ts'
import type { ModelRouter } from './core/router.ts'
import { ERRORS, GatewayError, asGatewayError, invalidRequest } from './errors.ts'
import { registerJsonBodies } from './json-body.ts'
import { answerClientError, timedOut } from './http-client-errors.ts'
import type { ReasoningAgent } from './agent/loop.ts'
import type { Toolbox } from './agent/toolbox.ts'
import { agentRoutes, type ToolHealthSource } from './routes/agents/route.ts'
import { chatCompletionsRoute } from './routes/chat-completions/route.ts'
import { embeddingsRoute } from './routes/embeddings/route.ts'
import { evaluationsRoute } from './routes/evaluations/route.ts'
import { responsesRoutes } from './routes/responses/route.ts'
import { messagesRoutes } from './routes/messages/route.ts'
import type { ResponseStore } from './routes/responses/store.ts'
import type { ProviderAdapter } from './core/types.ts'
import { modelsRoute, type ModelEntry } from './routes/models.ts'
import { routeGroupsRoute } from './routes/route-groups.ts'
import { trackRouteMethods } from './routes/method-not-allowed.ts'
import { opsRoutes } from './routes/ops.ts'
import { traceRoutes } from './routes/traces/route.ts'
import { traceLinkHeader } from './routes/traces/trace-ui-link.ts'
import { SecretScrubber } from './scrub.ts'
import type { TraceIds } from './telemetry/llm-call.ts'
import { markRequestFailed, markServerSpanCaller, nameServerSpan } from './telemetry/request-span.ts'
import { requestContext, serverSpans, tracedHttpClasses } from './telemetry/server-span.ts'
import { countUnauthenticated } from './telemetry/unauthenticated.ts'
import type { Telemetry } from './telemetry/setup.ts'
import { traceContextBody, traceHeaders, traceIdsIn } from './telemetry/trace-context.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The API whose error shape this route answers in: OpenAI's unless said (the Messages API's on /v1/messages). */
    errorShape?: 'messages'
  }
  interface FastifyRequest {
    /** The ids returned to the caller: the llm.request span once there is one, else the server span. */
    traceIds: TraceIds | undefined
    llmModel: string | undefined
    /** Who is calling (the key presented), once the key was checked. */
    principal: Principal | undefined
    /** Told once per model call what it used (set where rate limits and budgets admit the request). */
    onSettled: ((spent: Spent) => void) | undefined
    /** Checks the budgets again before an agent run's next turn; throws the 429 when spent (set with onSettled). */
    admitTurn: (() => Promise<void>) | undefined
  }
}

export interface ServerDeps {
  config: Config
  logger: FastifyBaseLogger
  telemetry: Telemetry
  dispatch: Dispatch
  /** Responses kept for translated upstreams, and OpenAI for the ones it keeps itself. */
  responses: { store: ResponseStore; openai: ProviderAdapter | undefined }
  router: ModelRouter
  models: ModelEntry[]
  agent: ReasoningAgent
  toolbox: Toolbox
  mcp: ToolHealthSource | undefined
  isDraining: () => boolean
  /** The key check the server span shares (made from config.apiKeys when absent). */
  authenticator?: Authenticator | undefined
  /** Rate limits and budgets of named keys; undefined: none checked. */
  limits?: Limits | undefined
  /** The admin API's keys (/admin/keys); undefined: no GATEWAY_MASTER_KEY, the admin API answers 403. */
  adminKeys?: AdminKeyDeps | undefined
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

/**
 * Whether the answer is in the Messages API's error shape: the route says so, and a request no
 * route took (`GET /v1/messages` → 405, `/v1/messages/batches` → 404, a 401 before routing) is
 * answered in the shape of the API its path belongs to: an Anthropic SDK must be able to read it.
 */
function answersAsMessages(request: FastifyRequest): boolean {
  const shape = request.routeOptions.config?.errorShape
  if (shape !== undefined) return shape === 'messages'
  return /^\/v1\/messages(?:[/?]|$)/.test(request.url)
}

/** The `model` of a body the route never got to read (a 400 from the schema, say). */
function modelAsked(body: unknown): string | undefined {
  const model = (body as { model?: unknown } | null | undefined)?.model
  // Longer is refused by the schema: not a model name, and a slice of it would pin the whole
  // string (megabytes) for as long as the span waits in the export queue.
  return typeof model === 'string' && model.length <= 256 ? model : undefined
}

/**
 * The one log line of a request. The path is logged without its query string: a caller's
 * `?api_key=…` must not land in the logs (the routes take no query parameters that matter here).
 */
function logRequest(request: FastifyRequest, reply: FastifyReply, extra?: { aborted: true } | { timed_out: true }): void {
  const ids = request.traceIds
  request.log.info(
    {
      method: request.method,
      url: request.url.split('?')[0],
      // Nobody got the status of an answer the caller left: nginx's 499, as for a cancelled call.
      status: extra === undefined ? reply.statusCode : 'timed_out' in extra ? ERRORS.request_timeout.status : ERRORS.cancelled.status,
      duration_ms: Math.round(reply.elapsedTime * 10) / 10,
      model: request.llmModel,
      // Who called: a named key's name and team (never the key itself).
      key_name: request.principal?.name,
      key_team: request.principal?.team,
      trace_id: ids?.trace_id,
      span_id: ids?.span_id,
      ...extra,
    },
    'request',
  )
}

/**
 * Limits that fit an LLM gateway: a request uploads in seconds, its answer may stream for
 * minutes. So the time to *receive* a request is bounded (Node's requestTimeout, and its
 * headersTimeout within it), while no socket idle timeout applies (Fastify's connectionTimeout
 * stays 0): a stream waiting minutes for a model's first token sends nothing meanwhile. Idle
 * keep-alive sockets still close after Fastify's keepAliveTimeout (72 s). Node checks the
 * request limits every connectionsCheckingInterval (30 s by default): a quarter of the limit
 * keeps a trickled body from outliving it by much.
 */
function connectionLimits(requestTimeoutMs: number) {
  if (requestTimeoutMs === 0) return { requestTimeout: 0 }
  return {
    requestTimeout: requestTimeoutMs,
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeoutMs / 4))),
    },
  }
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { config, logger } = deps
  // The gateway's own tracing makes the HTTP SERVER span (a preloaded SDK's HTTP instrumentation
  // does otherwise), once the caller's key is settled: the request's own spans are made under it
  // (server-span.ts: requestContext).
  const inServerSpan = deps.telemetry.mode === 'zero-config' ? serverSpans() : undefined
  const limits = connectionLimits(config.http.requestTimeoutMs)
  const app = Fastify({
    loggerInstance: logger,
    // One line per request is written by the onResponse hook below, with the trace ids.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Idle keep-alive sockets are closed on shutdown; in-flight requests are let finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ...limits,
    // Requests that hold their SERVER span's context, responses that end the span (server-span.ts).
    ...(inServerSpan ? { http: { ...limits.http, ...tracedHttpClasses } } : {}),
    clientErrorHandler: answerClientError,
  })
  // Past the cap, Node drops new connections at once: better than running out of file descriptors.
  app.server.maxConnections = config.http.maxConnections
  registerJsonBodies(app)
  app.decorateRequest('traceIds', undefined)
  app.decorateRequest('llmModel', undefined)
  app.decorateRequest('principal', undefined)
  app.decorateRequest('onSettled', undefined)
  app.decorateRequest('admitTurn', undefined)

  const authenticator = deps.authenticator ?? createAuthenticator({ apiKeys: config.apiKeys, masterKey: config.keys.masterKey })
  // The caller already got the message; the span goes on to a backend others may read.
  const scrubber = new SecretScrubber(config.secrets)

  app.addHook('onRequest', (request, reply, done) => {
    const arrivedAt = performance.now()
    // Fastify's `done` runs the rest of the request: a fault thrown out of it is logged, not passed to it twice.
    let continued = false
    const next = (error?: Error) => {
      continued = true
      done(error)
    }
    // check() (as the HTTP instrumentation's, when enabled), then the shared key store for the admin API's keys.
    authenticator.settle(request.raw).then(({ verdict, principal }) => {
      if (verdict !== 'ok') {
        // No span exists for this request (see request-span.ts), so no trace ids and no trace link.
        if (verdict !== 'unavailable') countUnauthenticated(verdict)
        return next(refusal(verdict))
      }
      request.principal = principal
      const admitted = () => {
        const within = requestContext(request.raw)
        markServerSpanCaller(within, request.principal)
        request.traceIds = traceIdsIn(within)
        nameServerSpan(request.routeOptions.url)
        // Set now, not in onSend: the streaming routes hijack the reply, which skips onSend, and
        // writeEventStream keeps the headers set on the reply. The trace id never changes afterwards.
        if (config.traceUiUrl) reply.headers(traceLinkHeader(config.traceUiUrl, request.traceIds?.trace_id))
        // A caller gone before the answer ended gets no onResponse (that needs 'finish'): its line is written here.
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) logRequest(request, reply, timedOut(request.raw.socket) ? { timed_out: true } : { aborted: true })
        })
        next()
      }
      if (inServerSpan) inServerSpan(request.raw, reply.raw, request.routeOptions.url, arrivedAt, admitted)
      else admitted()
    }).catch((error: Error) => {
      if (!continued) next(error)
      else request.log.error({ err: error }, 'unhandled error')
    })
  })

  app.addHook('onSend', async (request, reply) => {
    if (request.traceIds && !reply.hasHeader('x-trace-id')) reply.headers(traceHeaders(request.traceIds))
    // Ids known only once the route ran (no HTTP server span, e.g. a preloaded setup without it).
    if (config.traceUiUrl && !reply.hasHeader('link')) reply.headers(traceLinkHeader(config.traceUiUrl, request.traceIds?.trace_id))
  })

  app.addHook('onResponse', async (request, reply) => logRequest(request, reply))
  // Before the routes' own hooks and handlers: a model the key may not use costs nothing.
  app.addHook('preHandler', checkModelAllowed)
  // Then rate limits and budgets: admitted or refused before any upstream call.
  if (deps.limits) app.addHook('preHandler', limitsPreHandler(deps.limits))

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const failure = toGatewayError(error)
    if (failure.kind === 'internal') request.log.error({ err: error }, 'unhandled error')
    // No server span (a caller without a key, telemetry off): nothing to mark.
    if (request.traceIds) markRequestFailed(request.raw, {
      status: failure.status,
      message: scrubber.scrub(failure.message),
      errorType: failure.errorType,
      model: request.llmModel ?? modelAsked(request.body),
    })
    const ids = request.traceIds
    reply.code(failure.status).headers(failure.headers)
    const body = answersAsMessages(request) ? failure.toAnthropicBody() : failure.toBody()
    return { ...body, trace_context: traceContextBody(ids) }
  })

  const refuseOtherMethod = trackRouteMethods(app)
  app.setNotFoundHandler(async (request) => {
    const path = request.url.split('?')[0] ?? ''
    refuseOtherMethod(request.method, path)
    throw new GatewayError('not_found', `No route for ${request.method} ${path}.`)
  })

  opsRoutes(app, deps.telemetry, deps.isDraining, { traceStore: deps.telemetry.traces !== undefined })
  modelsRoute(app, deps.router, deps.models)
  routeGroupsRoute(app, deps.router)
  chatCompletionsRoute(app, deps.dispatch)
  responsesRoutes(app, deps.dispatch, deps.responses.store, deps.responses.openai)
  embeddingsRoute(app, deps.dispatch)
  messagesRoutes(app, deps.dispatch, deps.router)
  agentRoutes(app, deps.agent, deps.toolbox, deps.mcp)
  evaluationsRoute(app, deps.telemetry.mode)
  adminKeyRoutes(app, deps.adminKeys)
  traceRoutes(app, { store: deps.telemetry.traces, telemetryMode: deps.telemetry.mode, traceUiUrl: config.traceUiUrl })
  return app
}
