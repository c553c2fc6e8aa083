// One model call, for every route: resolve the model to the targets it may go to (one, or a route
// group's in its order), answer from the response cache when it holds the answer, else for each
// target in turn pick the translator for (caller's API, target's API) and run its attempts (each
// its own provider span under one `llm.request`; retries with backoff, then the next target, only
// before the first byte of an answer), translate the answer, read its usage, price it, record
// success or failure under the target that served, and hand back the JSON answer or the stream of
// the caller's events. Routes frame and write; none of them repeats any of this.
import type { Cost, PriceBook } from '../pricing/cost.ts'
import { computeCost } from '../pricing/cost.ts'
import { GatewayError } from '../errors.ts'
import { LlmCall, type CallParent } from '../telemetry/llm-call.ts'
import type { TraceIds } from '../telemetry/trace-context.ts'
import { isContextLength, movesOn } from './attempts.ts'
import { MAX_WAIT_BEFORE_MOVING_ON_MS, exchange, runAttempts } from './exchange.ts'
import type { CachedAnswer, ResponseCache } from './cache/response-cache.ts'
import { replay } from './cache/replay.ts'
import { callStream, type CallStream, type StreamKeeper } from './call-stream.ts'
import { Deadline } from './deadline.ts'
import type { Ingress } from './ingress/ingress.ts'
import type { ModelRouter, Plan, Route } from './router.ts'
import type { Target } from './routing/group.ts'
import type { Api, Translator, UpstreamRequest } from './translator.ts'
import type { ProviderAdapter, Spent, UpstreamReply, Usage } from './types.ts'
import type { UnmeteredLog } from './unmetered.ts'
import type { Principal } from '../keys/principal.ts'

export interface DispatchDeps {
  router: ModelRouter
  prices: PriceBook
  /** The translator for a caller's API and a provider (src/providers/translators.ts). */
  translatorFor: (ingress: Api, adapter: ProviderAdapter, requestedModel: string) => Translator
  captureContent: boolean
  totalTimeoutMs: number
  /** Tries after the first, before the first byte of an answer (UPSTREAM_MAX_RETRIES); a route group has its own. */
  maxRetries: number
  /** Where calls answered without usage are logged. */
  unmetered?: UnmeteredLog | undefined
  /** The response cache; absent, nothing is cached. */
  cache?: ResponseCache | undefined
}

export type { CallStream } from './call-stream.ts'

export interface Outcome {
  ids: TraceIds | undefined
  /**
   * Response headers the call adds: the target that served (`x-gateway-target`), what the cache
   * did (`x-gateway-cache`, `age`), what was left out of the request (`x-gateway-omitted`).
   */
  headers: Record<string, string>
}
export type DispatchResult =
  | (Outcome & { json: Record<string, unknown>; usage: Usage | undefined; cost: Cost | undefined })
  | (Outcome & { stream: CallStream })
  | (Outcome & { error: GatewayError })

export interface CallOptions {
  /** The span the call's spans hang below: the request's (routes/answer.ts) or an agent iteration's; the active context otherwise. */
  parent?: CallParent | undefined
  /** Force a stream whatever the body says (the agent always streams its turns). */
  stream?: boolean
  /** Request headers that go on to a provider speaking the caller's API (anthropic-beta …). */
  passthroughHeaders?: Record<string, string> | undefined
  /** Who is calling (the key presented): spans and metrics name a named key and its team. */
  caller?: Principal | undefined
  /** The caller's `cache-control` header: `no-store` bypasses the response cache, `no-cache` refreshes it. */
  cacheControl?: string | undefined
  /**
   * Told once, when the call ends whichever way (answered, failed, cancelled, from the cache), what
   * it used: a stream cut short reports what it used until then. Not told for a call refused
   * before it was recorded (a thrown 4xx).
   */
  onSettled?: ((spent: Spent) => void) | undefined
}

/** Whether the gateway knows the routed model: the configuration lists it, or it has a price. */
export function isKnownModel(prices: PriceBook, route: Route): boolean {
  return route.listed || prices.lookup(route.adapter.name, route.model) !== undefined
}

/** A target with the request as it will be sent to it. */
interface Prepared {
  target: Target
  translator: Translator
  upstream: UpstreamRequest
}

type Explain = (error: unknown) => GatewayError
type Price = (usage: Usage | undefined, answered?: string) => Cost | undefined

/** A translator's refusal of a request it cannot express (a 4xx), as opposed to a bug of ours. */
function isRefusal(error: unknown): boolean {
  return error instanceof GatewayError && error.status >= 400 && error.status < 500
}


export class Dispatch {
  private readonly deps: DispatchDeps

  constructor(deps: DispatchDeps) {
    this.deps = deps
  }

  /**
   * Whether a call in `ingress` to `model` goes to providers that all speak the caller's API (and
   * is passed through, whichever target serves). Throws the router's 4xx for a model it does not serve.
   */
  passesThrough(ingress: Ingress, model: string): boolean {
    return this.deps.router.plan(model).targets.every((target) => target.route.adapter.apis.includes(ingress.api))
  }

  /**
   * Throws only before the call is recorded, for what the caller got wrong (an unknown model, a
   * provider without the caller's API, a request the first target's translator cannot express
   * upstream): a 4xx with no `llm.request`, not counted as a failed call. Afterwards every
   * failure is a result.
   */
  async call(ingress: Ingress, body: Record<string, unknown>, callerSignal: AbortSignal, options: CallOptions = {}): Promise<DispatchResult> {
    const { deps } = this
    const shape = ingress.shape(body)
    const streaming = options.stream ?? shape.stream
    const plan = deps.router.plan(shape.model)
    const first = this.opening(ingress, body, plan, streaming)
    const route = first.target.route
    const call = new LlmCall(
      {
        provider: route.adapter.name,
        operation: ingress.operation,
        api: ingress.api,
        model: route.model,
        requestedModel: route.requested,
        streaming,
        messagesCount: shape.messagesCount,
        temperature: shape.temperature,
        maxTokens: shape.maxTokens,
        topP: shape.topP,
        userId: shape.userId,
        route: plan.group?.name,
        endpoint: route.adapter.endpoint,
        demo: route.adapter.demo,
        knownModel: isKnownModel(deps.prices, route),
        inputMessages: deps.captureContent ? ingress.input(body) : undefined,
        onUnmetered: () => deps.unmetered?.note(call.info.provider, call.info.model),
        onSettled: options.onSettled,
        caller: options.caller,
      },
      options.parent,
    )
    const ids = call.ids
    const headers: Record<string, string> = {}

    const cache = deps.cache?.policy(plan, ingress.api, body, streaming, { cacheControl: options.cacheControl, passedOn: options.passthroughHeaders })
    if (cache) {
      const hit = cache.read ? await deps.cache!.lookup(cache.key) : undefined
      if (hit && (streaming ? hit.events !== undefined : hit.json !== undefined)) return replay(ingress, call, hit, headers, deps.captureContent)
      call.cache(cache.read ? 'miss' : 'bypass')
      headers['x-gateway-cache'] = cache.read ? 'miss' : 'bypass'
    }

    const groupLimit = plan.group?.config.timeoutMs
    const deadline = new Deadline(callerSignal, groupLimit ?? deps.totalTimeoutMs, groupLimit === undefined ? undefined : `the timeoutMs of route ${plan.group!.name}`)
    const served = await this.serve(call, plan, first, { ingress, body, streaming, deadline, headers, options })
    if ('failure' in served) {
      deadline.clear()
      call.fail(served.failure)
      return { ids, headers, error: served.failure }
    }
    const { prepared, reply } = served
    const target = prepared.target.route
    headers['x-gateway-target'] = `${target.adapter.name}/${target.model}`
    const explain = this.explainer(target, deadline)
    const price = this.pricer(target)
    const keep = cache?.write ? cache : undefined

    if ('events' in reply) {
      const keeper: StreamKeeper | undefined = keep && {
        maxBytes: deps.cache!.config.maxEntryBytes,
        save: (events, end, cost) =>
          deps.cache!.save(keep.key, { ...facts(target, headers), responseModel: end.model, responseId: end.id, finishReasons: end.finishReasons, usage: end.usage, costUsd: cost?.total, events }, keep.ttlSeconds),
      }
      const context = { call, deadline, explain, price, model: target.model, captureContent: deps.captureContent, keeper }
      return { ids, headers, stream: callStream(ingress, prepared.translator, body, reply.events, context) }
    }

    try {
      const answer = prepared.translator.response(reply.json, body)
      const cost = price(answer.usage, answer.model)
      if (keep) {
        this.deps.cache!.save(
          keep.key,
          { ...facts(target, headers), responseModel: answer.model, responseId: answer.id, finishReasons: answer.finishReasons, usage: answer.usage, costUsd: cost?.total, json: answer.body },
          keep.ttlSeconds,
        )
      }
      call.succeed({
        usage: answer.usage,
        cost,
        responseModel: answer.model,
        responseId: answer.id,
        finishReasons: answer.finishReasons,
        outputMessages: deps.captureContent ? ingress.output(answer.body) : undefined,
      })
      return { ids, headers, json: ingress.finish(answer.body, cost, ids), usage: answer.usage, cost }
    } catch (error) {
      const failure = explain(error)
      call.fail(failure)
      return { ids, headers, error: failure }
    } finally {
      deadline.clear()
    }
  }

  /**
   * The target the call opens on, with the request as it takes it: the first ordinary target not
   * cooling down (contextFallback ones serve only calls refused for their length) whose API can
   * express the request. Throws the first translator's 4xx only when no target of the plan can:
   * in a group, whether a request is the caller's mistake must not depend on which target comes
   * first (a loadbalance draw, a cooldown).
   */
  private opening(ingress: Ingress, body: Record<string, unknown>, plan: Plan, streaming: boolean): Prepared {
    const ordinary = plan.targets.filter((t) => !t.contextFallback)
    const candidates = [...ordinary.filter((t) => t.breaker?.available() !== false), ...ordinary.filter((t) => t.breaker?.available() === false), ...plan.targets.filter((t) => t.contextFallback)]
    let refusal: unknown
    for (const target of candidates) {
      try {
        return this.prepare(ingress, body, target, streaming)
      } catch (error) {
        if (!isRefusal(error)) throw error
        refusal ??= error
      }
    }
    throw refusal
  }

  /** The request as `target` takes it; throws the translator's 4xx when it cannot. */
  private prepare(ingress: Ingress, body: Record<string, unknown>, target: Target, streaming: boolean): Prepared {
    const { adapter, model, requested } = target.route
    const translator = this.deps.translatorFor(ingress.api, adapter, requested)
    const traits = { reasoning: adapter.reasoning?.(model) ?? false, maxOutputTokens: adapter.maxOutputTokens?.(model) }
    return { target, translator, upstream: translator.request(body, model, streaming, traits) }
  }

  /**
   * Walks the plan's targets until one answers. A plain model has one target and retries it
   * (UPSTREAM_MAX_RETRIES); a route group gives each target its `retries`, then moves on after
   * what `movesOn` allows (a context-length refusal only to `contextFallback` targets), skipping
   * targets cooling down, within its `maxAttempts` and the deadline. The caller's own mistakes
   * end the call at once, on any target.
   */
  private async serve(
    call: LlmCall,
    plan: Plan,
    first: Prepared,
    context: { ingress: Ingress; body: Record<string, unknown>; streaming: boolean; deadline: Deadline; headers: Record<string, string>; options: CallOptions },
  ): Promise<{ prepared: Prepared; reply: UpstreamReply } | { failure: GatewayError }> {
    const { ingress, body, streaming, deadline, headers, options } = context
    const group = plan.group
    const budget = { used: 0, max: group ? group.maxAttempts : 1 + this.deps.maxRetries }
    const retries = group ? group.config.retries : this.deps.maxRetries
    let failure: GatewayError | undefined
    let longContext = false
    // The contextFallback targets after every ordinary one, wherever the group lists them: the
    // walk reaches them only once a refusal for length has passed the ordinary ones by.
    const walk = [...plan.targets.filter((t) => !t.contextFallback), ...plan.targets.filter((t) => t.contextFallback)]
    for (const target of walk) {
      if (target.contextFallback !== longContext) continue
      if (budget.used >= budget.max || deadline.signal.aborted) break
      const { route } = target
      if (target.breaker && !target.breaker.acquire()) {
        call.skipped(route.adapter.name, route.model, 'cooling_down')
        continue
      }
      let prepared: Prepared
      try {
        prepared = target === first.target ? first : this.prepare(ingress, body, target, streaming)
      } catch (error) {
        // This target's API cannot express the request (a translator's 4xx): the next may. Any
        // other throw is a bug of ours, not a reason to skip.
        target.breaker?.released()
        if (!isRefusal(error)) throw error
        call.skipped(route.adapter.name, route.model, 'unsupported_request')
        continue
      }
      if (failure) {
        const reason = isContextLength(failure) ? 'context_length' : failure.errorType
        call.retrying(failure, reason)
        if (group) call.fellBack(group.name, reason)
      }
      call.target({ provider: route.adapter.name, model: route.model, endpoint: route.adapter.endpoint, demo: route.adapter.demo, knownModel: isKnownModel(this.deps.prices, route) })
      if (prepared.upstream.omitted?.length) {
        call.omitted(prepared.upstream.omitted)
        headers['x-gateway-omitted'] = prepared.upstream.omitted.join(', ')
      } else {
        delete headers['x-gateway-omitted']
      }
      const explain = this.explainer(route, deadline)
      const extraHeaders = prepared.translator.upstream === ingress.api ? options.passthroughHeaders : undefined
      const send = (parent: CallParent) =>
        exchange(route.adapter, prepared.translator.upstream, prepared.upstream.body, { streaming, deadline, headers: extraHeaders, firstByteMs: group?.config.firstByteTimeoutMs, parent })
      try {
        const reply = await runAttempts(call, deadline, explain, send, { retries, budget, maxWaitMs: group && group.targets.length > 1 ? MAX_WAIT_BEFORE_MOVING_ON_MS : Infinity })
        target.breaker?.succeeded()
        return { prepared, reply }
      } catch (error) {
        failure = explain(error)
        if (!group || deadline.signal.aborted) {
          // A target still silent when the call's time ran out failed; a caller who left says nothing of it.
          if (failure.kind === 'timeout') target.breaker?.failed()
          else target.breaker?.released()
          break
        }
        if (isContextLength(failure)) {
          target.breaker?.succeeded()
          longContext = true
        } else if (movesOn(failure)) {
          target.breaker?.failed()
        } else {
          target.breaker?.succeeded()
          break
        }
      }
    }
    // A caller gone (or the time up) before any attempt is that, not a group without targets.
    if (!failure && deadline.signal.aborted) failure = deadline.explain(new Error('no attempt was made'))
    return { failure: failure ?? noTarget(plan) }
  }

  /**
   * The deadline's reason first (timeout, caller gone), then the provider's reading of its own
   * errors (an error event a translator met mid-stream), else a bug of ours.
   */
  private explainer(route: Route, deadline: Deadline): Explain {
    return (error) => (deadline.signal.aborted || error instanceof GatewayError ? deadline.explain(error) : (route.adapter.explain?.(error) ?? deadline.explain(error)))
  }

  /**
   * The price of the model asked for, else of the model that answered: `claude-3-5-haiku-latest`
   * has no row of its own, the dated model Anthropic says answered does.
   */
  private pricer(route: Route): Price {
    const { prices } = this.deps
    return (usage, answered) => priceOf(prices, route.adapter.name, route.model, usage) ?? (answered ? priceOf(prices, route.adapter.name, answered, usage) : undefined)
  }
}

/** Every target of the group is cooling down (or none can take the request): a 503 saying when to come back. */
function noTarget(plan: Plan): GatewayError {
  const now = Date.now()
  const until = Math.min(...plan.targets.filter((t) => !t.contextFallback).map((t) => t.breaker?.snapshot().cooldownUntil ?? now))
  const seconds = Math.max(1, Math.ceil((until - now) / 1000))
  return new GatewayError(
    'unavailable',
    `No target of route ${plan.requested} can take the call now: every one is cooling down after failures or cannot take this request. ` +
      `The first is probed again in ${seconds} s; GET /v1/routes shows their state.`,
    { code: 'no_target_available', headers: { 'retry-after': String(seconds) } },
  )
}

/** What every kept answer says of where it came from. */
function facts(route: Route, headers: Record<string, string>): Pick<CachedAnswer, 'provider' | 'model' | 'storedAt' | 'headers'> {
  const omitted = headers['x-gateway-omitted']
  return { provider: route.adapter.name, model: route.model, storedAt: Date.now(), headers: omitted ? { 'x-gateway-omitted': omitted } : undefined }
}

/** Cost of one exchange, or undefined when the usage or the model's price is unknown. */
export function priceOf(prices: PriceBook, provider: string, model: string, usage: Usage | undefined): Cost | undefined {
  if (!usage) return undefined
  const price = prices.lookup(provider, model)
  return price ? computeCost(usage, price) : undefined
}
