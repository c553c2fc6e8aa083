// One LLM call as telemetry sees it: the `llm.request` span, the provider CLIENT span around the
// upstream exchange, and every metric of SPEC §2.2. Spans and metrics for chat are recorded here
// and nowhere else; adapters only hand back plain values.
import { context, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api'
import { activeContext } from './lean-context.ts'
import type { Spent, Usage, UpstreamEndpoint } from '../core/types.ts'
import type { Principal } from '../keys/principal.ts'
import type { GatewayError } from '../errors.ts'
import { ATTR, SPAN } from './names.ts'
import { addCallerAttributes, countKeyUsage } from './caller.ts'
import { entersAttemptContext } from './client-span.ts'
import { fallbackLabels, LLM_METRICS, modelLabels } from './instruments.ts'
import { startGatewaySpan } from './setup.ts'
import { AttributePairs } from './span-values.ts'
import { idsOf, type TraceIds } from './trace-context.ts'

export interface LlmCallInfo {
  provider: string
  /** `gen_ai.operation.name`: chat (whatever the ingress API), or embeddings. */
  operation: 'chat' | 'embeddings'
  /** The API the caller spoke. */
  api: string
  /** The upstream model id the request was routed to (`llm.model`, and every metric's label). */
  model: string
  /**
   * The model as the caller named it (an alias such as `fast`, or `openai/gpt-4o-mini`): the
   * span's `gen_ai.request.model`. Defaults to `model`.
   */
  requestedModel?: string | undefined
  streaming: boolean
  messagesCount: number
  temperature?: number | null | undefined
  maxTokens?: number | null | undefined
  topP?: number | null | undefined
  endpoint: UpstreamEndpoint | undefined
  demo?: boolean | undefined
  /**
   * A model the gateway knows (listed in the configuration, or priced): its metrics get
   * series of their own at once, failures included. Any other name gets them once a call to it
   * succeeded, so names that only ever fail cannot use up the series budget.
   */
  knownModel?: boolean | undefined
  /** The end user the caller names, when it does. */
  userId?: string | undefined
  /** The route group the caller named, when it was one. */
  route?: string | undefined
  /** JSON of the input messages; only given when content capture is on. */
  inputMessages?: string | undefined
  /** Told when the call succeeded without usage from the upstream (the core logs it). */
  onUnmetered?: (() => void) | undefined
  /** Who is calling (the key presented, never its secret). */
  caller?: Principal | undefined
  /** Told once, when the call ends whichever way, what it used (spend and rate limits count it). */
  onSettled?: ((spent: Spent) => void) | undefined
}

export interface LlmCallOutcome {
  usage: Usage | undefined
  cost: { input: number; output: number; total: number } | undefined
  responseModel?: string | undefined
  responseId?: string | undefined
  finishReasons: string[]
  /** JSON of the output messages; only given when content capture is on. */
  outputMessages?: string | undefined
  /** Answered from the response cache: `usage` and `cost` are what the answer used when made, saved now. */
  cacheHit?: boolean | undefined
}

/** Where a call goes: the target a route group moved it to, or its one provider and model. */
export interface CallTarget {
  provider: string
  model: string
  endpoint: UpstreamEndpoint | undefined
  demo?: boolean | undefined
  knownModel?: boolean | undefined
}

export type { TraceIds }

const ZERO_USAGE: Usage = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: 0 })
const ZERO_COST = Object.freeze({ input: 0, output: 0, total: 0 })

/** At most this many parts left out are named on a span. */
const MAX_OMITTED = 32

/** The parent of a call's spans (the request's SERVER span, or an agent iteration), opaque outside telemetry. */
export type CallParent = Context

export class LlmCall {
  readonly span: Span
  readonly info: LlmCallInfo
  private readonly startedAt = performance.now()
  private readonly requestContext: Context
  private providerSpan: Span | undefined
  private attempts = 0
  private cacheStatus: 'hit' | 'miss' | 'bypass' | undefined
  private firstTokenAt: number | undefined
  private ended = false

  constructor(info: LlmCallInfo, parent: Context = activeContext()) {
    this.info = info
    const pairs = new AttributePairs()
      .add(ATTR.model, info.model)
      .add(ATTR.provider, info.provider)
      .add(ATTR.operation, info.operation)
      .add(ATTR.api, info.api)
      .add(ATTR.messagesCount, info.messagesCount)
      .add(ATTR.streaming, info.streaming)
      .add(ATTR.genAiOperation, info.operation)
      .add(ATTR.genAiProvider, info.provider)
      .add(ATTR.genAiRequestModel, info.requestedModel ?? info.model)
      .add(ATTR.genAiStream, info.streaming)
    addCallerAttributes(pairs, info.caller)
    if (info.temperature != null) pairs.add(ATTR.temperature, info.temperature).add(ATTR.genAiTemperature, info.temperature)
    if (info.maxTokens != null) pairs.add(ATTR.maxTokens, info.maxTokens).add(ATTR.genAiMaxTokens, info.maxTokens)
    if (info.topP != null) pairs.add(ATTR.genAiTopP, info.topP)
    if (info.endpoint) pairs.add(ATTR.serverAddress, info.endpoint.address).add(ATTR.serverPort, info.endpoint.port)
    if (info.demo) pairs.add(ATTR.demo, true)
    pairs.add(ATTR.userId, info.userId).add(ATTR.route, info.route).add(ATTR.genAiInputMessages, info.inputMessages)
    this.span = startGatewaySpan(SPAN.request, { kind: SpanKind.INTERNAL }, pairs, parent)
    this.requestContext = trace.setSpan(parent, this.span)
  }

  get ids(): TraceIds | undefined {
    return idsOf(this.span)
  }

  /**
   * Runs one attempt of the upstream exchange inside its own provider CLIENT span
   * (`llm.attempt` = 1, 2, …), so the upstream HTTP CLIENT span (client-span.ts) is its
   * child and a retry is a second span under the same `llm.request`. The span of the attempt that
   * answered stays open until `succeed`/`fail`, which for a stream is when its last chunk is read;
   * an attempt that failed and is retried is closed by `retrying`. `call` gets the attempt's
   * context, to send its upstream request under; it runs in it as the active context only when
   * others trace from there (client-span.ts: entersAttemptContext), since entering a context costs
   * a context frame.
   */
  attempt<T>(call: (parent: CallParent) => Promise<T>): Promise<T> {
    const { info } = this
    const pairs = new AttributePairs()
      .add(ATTR.streaming, info.streaming)
      .add(ATTR.attempt, ++this.attempts)
      .add(ATTR.genAiOperation, info.operation)
      .add(ATTR.genAiProvider, info.provider)
      .add(ATTR.genAiRequestModel, info.model)
    addCallerAttributes(pairs, info.caller)
    if (info.temperature != null) pairs.add(ATTR.temperature, info.temperature)
    if (info.endpoint) pairs.add(ATTR.serverAddress, info.endpoint.address).add(ATTR.serverPort, info.endpoint.port)
    this.providerSpan = startGatewaySpan(SPAN.providerCall(info.provider, info.streaming, info.operation), { kind: SpanKind.CLIENT }, pairs, this.requestContext)
    const within = trace.setSpan(this.requestContext, this.providerSpan)
    return entersAttemptContext() ? context.with(within, call, undefined, within) : call(within)
  }

  /**
   * Closes the span of an attempt that failed and is followed by another, saying why
   * (`llm.fallback.reason`: the error type, or context_length).
   */
  retrying(error: GatewayError, reason: string = error.errorType): void {
    const span = this.providerSpan
    this.providerSpan = undefined
    if (!span) return
    span.setAttribute(ATTR.errorType, error.errorType)
    span.setAttribute(ATTR.fallbackReason, reason)
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
    span.end()
  }

  /**
   * The next attempts go to `to` (a route group moving on, or a cached answer's target): their
   * spans, the `llm.request` span and the call's metrics name it.
   */
  target(to: CallTarget): void {
    const { info } = this
    if (info.provider === to.provider && info.model === to.model) return
    info.provider = to.provider
    info.model = to.model
    info.endpoint = to.endpoint
    info.demo = to.demo
    info.knownModel = to.knownModel
    const pairs = new AttributePairs().add(ATTR.provider, to.provider).add(ATTR.model, to.model).add(ATTR.genAiProvider, to.provider)
    if (to.endpoint) pairs.add(ATTR.serverAddress, to.endpoint.address).add(ATTR.serverPort, to.endpoint.port)
    if (to.demo) pairs.add(ATTR.demo, true)
    pairs.setOn(this.span)
  }

  /** The call moves from the target it was on to another of `route`, for `reason`: counted. */
  fellBack(route: string, reason: string): void {
    fallbackLabels(route, this.info.provider, this.info.model, reason).add(LLM_METRICS.fallbacks, 1)
  }

  /** A target the call passed over without an attempt (cooling down, or unable to take the request). */
  skipped(provider: string, model: string, reason: string): void {
    this.span.addEvent('llm.target.skipped', { [ATTR.provider]: provider, [ATTR.model]: model, reason })
  }

  /** What the response cache did for the call (`hit` is said again by `succeed`). */
  cache(status: 'hit' | 'miss' | 'bypass'): void {
    this.cacheStatus = status
    this.span.setAttribute(ATTR.cacheStatus, status)
    this.span.setAttribute(ATTR.cacheHit, status === 'hit')
  }

  /** Parts of the request left out because the upstream cannot take them. */
  omitted(parts: readonly string[]): void {
    // The parts name what the caller sent (tool types): bounded, as every attribute from a caller.
    if (parts.length > 0) this.span.setAttribute(ATTR.omitted, parts.slice(0, MAX_OMITTED).map((part) => part.slice(0, 128)))
  }

  markFirstToken(): void {
    if (this.firstTokenAt === undefined) this.firstTokenAt = performance.now()
  }

  succeed(outcome: LlmCallOutcome): void {
    if (this.ended) return
    this.ended = true
    const seconds = (performance.now() - this.startedAt) / 1000
    // A hit spent nothing: its tokens and cost are recorded as saved, the call's own as zero.
    const hit = outcome.cacheHit === true
    const usage = hit ? ZERO_USAGE : outcome.usage
    const cost = hit ? ZERO_COST : outcome.cost
    const pairs = new AttributePairs()
      .add(ATTR.finishReason, outcome.finishReasons[0] ?? '')
      .add(ATTR.genAiFinishReasons, outcome.finishReasons)
      // What served the call: the upstream's own name for it, else the model it was routed to.
      .add(ATTR.genAiResponseModel, outcome.responseModel || this.info.model)
    if (outcome.responseId) pairs.add(ATTR.genAiResponseId, outcome.responseId)
    if (hit) {
      pairs.add(ATTR.cacheSavedUsd, outcome.cost?.total)
      if (outcome.usage) pairs.add(ATTR.cacheSavedInputTokens, outcome.usage.input).add(ATTR.cacheSavedOutputTokens, outcome.usage.output)
    }
    if (!usage) pairs.add(ATTR.usageMissing, true)
    if (usage) {
      pairs
        .add(ATTR.tokensInput, usage.input)
        .add(ATTR.tokensOutput, usage.output)
        .add(ATTR.tokensTotal, usage.input + usage.output)
        .add(ATTR.tokensCacheRead, usage.cacheRead)
        .add(ATTR.tokensCacheWrite, usage.cacheWrite)
        .add(ATTR.genAiInputTokens, usage.input)
        .add(ATTR.genAiOutputTokens, usage.output)
        .add(ATTR.genAiCacheReadTokens, usage.cacheRead)
        .add(ATTR.genAiCacheCreationTokens, usage.cacheWrite)
    }
    if (cost) pairs.add(ATTR.costTotal, cost.total).add(ATTR.costInput, cost.input).add(ATTR.costOutput, cost.output)
    if (this.firstTokenAt !== undefined) pairs.add(ATTR.timeToFirstToken, (this.firstTokenAt - this.startedAt) / 1000)
    pairs.add(ATTR.genAiOutputMessages, outcome.outputMessages)
    pairs.setOn(this.span)
    this.providerSpan?.end()
    this.span.end()
    this.recordMetrics(seconds, hit ? undefined : usage, cost?.total, outcome.responseModel, undefined, hit ? outcome.cost?.total : undefined)
    if (!usage) this.info.onUnmetered?.()
    this.settled(hit ? { usage: undefined, costUsd: 0 } : { usage, costUsd: cost?.total })
  }

  /**
   * Ends both spans as failed; `error.kind === 'cancelled'` marks a caller that went away. `spent`:
   * what a stream used before it ended (a cancelled stream is paid for what it used; estimated
   * from the text when it ended before the upstream said its usage).
   */
  fail(error: GatewayError, spent: Spent = { usage: undefined, costUsd: undefined }): void {
    if (this.ended) return
    this.ended = true
    const seconds = (performance.now() - this.startedAt) / 1000
    for (const span of [this.providerSpan, this.span]) {
      if (!span) continue
      span.setAttribute(ATTR.errorType, error.errorType)
      if (error.kind === 'cancelled') span.setAttribute(ATTR.cancelled, true)
      if (spent.estimated) span.setAttribute(ATTR.usageEstimated, true)
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
      span.end()
    }
    this.recordMetrics(seconds, undefined, undefined, undefined, error.errorType)
    this.settled(spent)
  }

  /** What the call used, counted for its caller (gateway_key_*) and told to whoever keeps its spend. */
  private settled(spent: Spent): void {
    countKeyUsage(this.info.caller, spent)
    this.info.onSettled?.(spent)
  }

  private recordMetrics(
    seconds: number,
    usage: Usage | undefined,
    cost: number | undefined,
    responseModel: string | undefined,
    errorType: string | undefined,
    savedUsd?: number | undefined,
  ): void {
    const m = LLM_METRICS
    const { model, provider } = this.info
    // Every llm_* metric has exactly the token counters' labels, so the guide's ratios
    // (tokens / requests, failed / requests) match one to one; error types are on gen_ai below.
    const series = modelLabels(provider, model, this.info.knownModel === true || errorType === undefined)
    const labels = series.llm
    labels.add(m.requests, 1)
    if (errorType !== undefined) labels.add(m.requestsFailed, 1)
    else if (!usage && this.cacheStatus !== 'hit') labels.add(m.requestsUnmetered, 1)
    labels.record(m.requestDuration, seconds)
    // A replayed answer's first token says nothing of the model's: hits stay out of its TTFT.
    if (this.firstTokenAt !== undefined && errorType === undefined && this.cacheStatus !== 'hit') {
      labels.record(m.timeToFirstToken, (this.firstTokenAt - this.startedAt) / 1000)
    }
    if (usage) {
      labels.add(m.tokensInput, usage.input)
      labels.add(m.tokensOutput, usage.output)
      labels.add(m.cacheReadTokens, usage.cacheRead)
      labels.add(m.cacheWriteTokens, usage.cacheWrite)
    }
    if (cost !== undefined) labels.add(m.costTotalUsd, cost)
    if (this.cacheStatus === 'hit') {
      labels.add(m.responseCacheHits, 1)
      if (savedUsd !== undefined) labels.add(m.responseCacheSavedUsd, savedUsd)
    } else if (this.cacheStatus === 'miss') {
      labels.add(m.responseCacheMisses, 1)
    }

    const genAi = series.genAi(this.info.operation, responseModel, errorType)
    genAi.call.record(m.genAiOperationDuration, seconds)
    if (usage) {
      genAi.input.record(m.genAiTokenUsage, usage.input)
      genAi.output.record(m.genAiTokenUsage, usage.output)
    }
  }
}
