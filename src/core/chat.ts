// One chat completion from validated body to answer: route the model, open the LlmCall
// (telemetry), call the adapter under the caller's abort signal and the total timeout, price the
// usage, and hand the route either a JSON body or a stream of SSE frames. Knows nothing of Fastify.
import type { ChatCompletion } from 'openai/resources/chat/completions'
import type { ModelRouter, Route } from './router.ts'
import type { ChatRequest, Usage } from './types.ts'
import { GatewayError, asGatewayError } from '../errors.ts'
import type { PriceBook } from '../pricing/cost.ts'
import { computeCost } from '../pricing/cost.ts'
import { LlmCall } from '../telemetry/llm-call.ts'
import { traceContextBody, type TraceIds } from '../telemetry/trace-context.ts'
import { streamFrames } from './chat-stream.ts'
import type { UnmeteredLog } from './unmetered.ts'

export interface ChatDeps {
  router: ModelRouter
  prices: PriceBook
  captureContent: boolean
  totalTimeoutMs: number
  /** Where calls answered without usage are logged. */
  unmetered?: UnmeteredLog | undefined
}

export type ChatResult =
  | { ids: TraceIds | undefined; json: Record<string, unknown> }
  | { ids: TraceIds | undefined; frames: AsyncIterable<string> }
  | { ids: TraceIds | undefined; error: GatewayError }

export interface Cost {
  input: number
  output: number
  total: number
}

/**
 * Abort reasons made once: an abort without a reason creates a DOMException with a stack trace,
 * and a mass disconnect would pay for one per request and per signal on the way.
 */
export const CALLER_GONE: Error = Object.assign(new Error('The caller closed the connection'), { name: 'AbortError' })
const TIMED_OUT: Error = Object.assign(new Error('UPSTREAM_TOTAL_TIMEOUT_MS elapsed'), { name: 'AbortError' })

/**
 * The caller's signal plus the total timeout; `reason()` says which fired, so an abort becomes
 * `cancelled` (caller gone) or `timeout` (504) rather than whatever the SDK threw.
 */
export class Deadline {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout
  private timedOut = false

  constructor(caller: AbortSignal, totalMs: number) {
    this.timer = setTimeout(() => {
      this.timedOut = true
      this.controller.abort(TIMED_OUT)
    }, totalMs)
    const onCallerAbort = () => this.controller.abort(CALLER_GONE)
    if (caller.aborted) onCallerAbort()
    else caller.addEventListener('abort', onCallerAbort, { once: true })
    this.signal = this.controller.signal
  }

  /** The error to record when the work failed: the deadline's own reason wins over the SDK's. */
  explain(error: unknown): GatewayError {
    if (this.timedOut) return new GatewayError('timeout', 'The upstream did not finish within UPSTREAM_TOTAL_TIMEOUT_MS')
    if (this.signal.aborted) return new GatewayError('cancelled', 'The caller closed the connection')
    return asGatewayError(error)
  }

  clear(): void {
    clearTimeout(this.timer)
  }
}

export class ChatService {
  private readonly deps: ChatDeps

  constructor(deps: ChatDeps) {
    this.deps = deps
  }

  /** Throws only before the LlmCall exists (unknown model); afterwards errors are results. */
  async handle(request: ChatRequest, callerSignal: AbortSignal): Promise<ChatResult> {
    const { router, captureContent } = this.deps
    const route = router.resolve(request.model)
    const streaming = request.stream === true
    const call = new LlmCall({
      provider: route.adapter.name,
      model: route.model,
      requestedModel: route.requested,
      streaming,
      messagesCount: request.messages.length,
      temperature: request.temperature,
      maxTokens: request.max_completion_tokens ?? request.max_tokens,
      topP: request.top_p,
      endpoint: route.adapter.endpoint,
      demo: route.adapter.demo,
      knownModel: isKnownModel(this.deps.prices, route),
      inputMessages: captureContent ? JSON.stringify(request.messages) : undefined,
      onUnmetered: () => this.deps.unmetered?.note(route.adapter.name, route.model),
    })
    const ids = call.ids
    const deadline = new Deadline(callerSignal, this.deps.totalTimeoutMs)
    const options = { signal: deadline.signal }

    if (streaming) {
      let stream
      try {
        stream = await call.runUpstream(() => route.adapter.stream(request, route.model, options))
      } catch (error) {
        deadline.clear()
        const failure = deadline.explain(error)
        call.fail(failure)
        return { ids, error: failure }
      }
      const frames = streamFrames({
        call,
        stream,
        deadline,
        includeUsage: request.stream_options?.include_usage === true,
        captureContent,
        price: (usage) => this.price(route.adapter.name, route.model, usage),
      })
      return { ids, frames }
    }

    try {
      const { body, usage } = await call.runUpstream(() => route.adapter.complete(request, route.model, options))
      const cost = this.price(route.adapter.name, route.model, usage)
      call.succeed({
        usage,
        cost,
        responseModel: body.model,
        responseId: body.id,
        finishReasons: body.choices.map((c) => c.finish_reason ?? '').filter(Boolean),
        outputMessages: captureContent ? JSON.stringify(body.choices.map((c) => c.message)) : undefined,
      })
      return { ids, json: withCost(body, cost, ids) }
    } catch (error) {
      const failure = deadline.explain(error)
      call.fail(failure)
      return { ids, error: failure }
    } finally {
      deadline.clear()
    }
  }

  private price(provider: string, model: string, usage: Usage | undefined): Cost | undefined {
    return priceOf(this.deps.prices, provider, model, usage)
  }
}

/** Whether the gateway knows the routed model: the configuration lists it, or it has a price. */
export function isKnownModel(prices: PriceBook, route: Route): boolean {
  return route.listed || prices.lookup(route.adapter.name, route.model) !== undefined
}

/** Cost of one exchange, or undefined when the usage or the model's price is unknown. */
export function priceOf(prices: PriceBook, provider: string, model: string, usage: Usage | undefined): Cost | undefined {
  if (!usage) return undefined
  const price = prices.lookup(provider, model)
  return price ? computeCost(usage, price) : undefined
}

function withCost(body: ChatCompletion, cost: Cost | undefined, ids: TraceIds | undefined): Record<string, unknown> {
  const usage = body.usage && cost ? { ...body.usage, cost_usd: cost.total } : body.usage
  return { ...body, usage, trace_context: traceContextBody(ids) }
}
