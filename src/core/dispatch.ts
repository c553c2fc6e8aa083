// One model call, for every route: resolve the model to a provider, pick the translator for
// (caller's API, provider's API), open the `llm.request` span, run the attempts (retries with
// backoff before the first byte only, each attempt its own provider span), translate the answer,
// read its usage, price it, record success or failure, and hand back the JSON answer or the
// stream of the caller's events. Routes frame and write; none of them repeats any of this.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Cost, PriceBook } from '../pricing/cost.ts'
import { computeCost } from '../pricing/cost.ts'
import { GatewayError } from '../errors.ts'
import { LlmCall, type CallParent } from '../telemetry/llm-call.ts'
import type { TraceIds } from '../telemetry/trace-context.ts'
import { isRetryable, retryDelayMs } from './attempts.ts'
import { Deadline } from './deadline.ts'
import type { Ingress } from './ingress/ingress.ts'
import type { ModelRouter, Route } from './router.ts'
import type { Api, StreamEvent, Translator } from './translator.ts'
import type { ProviderAdapter, UpstreamReply, Usage } from './types.ts'
import type { UnmeteredLog } from './unmetered.ts'

export interface DispatchDeps {
  router: ModelRouter
  prices: PriceBook
  /** The translator for a caller's API and a provider (src/providers/translators.ts). */
  translatorFor: (ingress: Api, adapter: ProviderAdapter, requestedModel: string) => Translator
  captureContent: boolean
  totalTimeoutMs: number
  /** Tries after the first, before the first byte of an answer (UPSTREAM_MAX_RETRIES). */
  maxRetries: number
  /** Where calls answered without usage are logged. */
  unmetered?: UnmeteredLog | undefined
}

/** A streamed answer: the caller's events, then (once they are read) the cost. */
export interface CallStream {
  ids: TraceIds | undefined
  /** The model the call was routed to (a fallback for a chunk that must name one). */
  model: string
  /** Throws the GatewayError that ended the call, already recorded. */
  events: AsyncIterable<StreamEvent>
  /** The usage read so far (final once `events` ended), as the upstream counted it. */
  usage(): Usage | undefined
  /** Its cost. */
  cost(): Cost | undefined
  /** The error to tell the caller for what `events` threw. */
  failure(error: unknown): GatewayError
  /** Called once the writer is done with the stream, whatever happened: ends a call never read. */
  close(): void
}

export interface Outcome {
  ids: TraceIds | undefined
  /** Response headers the call adds (what was left out of the request). */
  headers: Record<string, string>
}
export type DispatchResult =
  | (Outcome & { json: Record<string, unknown>; usage: Usage | undefined; cost: Cost | undefined })
  | (Outcome & { stream: CallStream })
  | (Outcome & { error: GatewayError })

export interface CallOptions {
  /** The span the call's spans hang below (an agent iteration); the active context otherwise. */
  parent?: CallParent | undefined
  /** Force a stream whatever the body says (the agent always streams its turns). */
  stream?: boolean
  /** Request headers that go on to a provider speaking the caller's API (anthropic-beta …). */
  passthroughHeaders?: Record<string, string> | undefined
}

/** Whether the gateway knows the routed model: the configuration lists it, or it has a price. */
export function isKnownModel(prices: PriceBook, route: Route): boolean {
  return route.listed || prices.lookup(route.adapter.name, route.model) !== undefined
}

export class Dispatch {
  private readonly deps: DispatchDeps

  constructor(deps: DispatchDeps) {
    this.deps = deps
  }

  /**
   * Whether a call in `ingress` to `model` goes to a provider that speaks the caller's API (and is
   * passed through). Throws the router's 4xx for a model it does not serve.
   */
  passesThrough(ingress: Ingress, model: string): boolean {
    return this.deps.router.resolve(model).adapter.apis.includes(ingress.api)
  }

  /**
   * Throws only before the call is recorded, for what the caller got wrong (an unknown model, a
   * provider without the caller's API, a request the translator cannot express upstream): a 4xx
   * with no `llm.request`, not counted as a failed call. Afterwards every failure is a result.
   */
  async call(ingress: Ingress, body: Record<string, unknown>, callerSignal: AbortSignal, options: CallOptions = {}): Promise<DispatchResult> {
    const { deps } = this
    const shape = ingress.shape(body)
    const streaming = options.stream ?? shape.stream
    const route = deps.router.resolve(shape.model)
    const translator = deps.translatorFor(ingress.api, route.adapter, route.requested)
    const traits = { reasoning: route.adapter.reasoning?.(route.model) ?? false, maxOutputTokens: route.adapter.maxOutputTokens?.(route.model) }
    const upstream = translator.request(body, route.model, streaming, traits)
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
        endpoint: route.adapter.endpoint,
        demo: route.adapter.demo,
        knownModel: isKnownModel(deps.prices, route),
        inputMessages: deps.captureContent ? ingress.input(body) : undefined,
        onUnmetered: () => deps.unmetered?.note(route.adapter.name, route.model),
      },
      options.parent,
    )
    const ids = call.ids
    const headers: Record<string, string> = {}
    if (upstream.omitted?.length) {
      call.omitted(upstream.omitted)
      headers['x-gateway-omitted'] = upstream.omitted.join(', ')
    }
    const deadline = new Deadline(callerSignal, deps.totalTimeoutMs)
    // The price of the model asked for, else of the model that answered: `claude-3-5-haiku-latest`
    // has no row of its own, the dated model Anthropic says answered does.
    const price = (usage: Usage | undefined, answered?: string) =>
      priceOf(deps.prices, route.adapter.name, route.model, usage) ?? (answered ? priceOf(deps.prices, route.adapter.name, answered, usage) : undefined)
    // The deadline's reason first (timeout, caller gone), then the provider's reading of its own
    // errors (an error event a translator met mid-stream), else a bug of ours.
    const explain = (error: unknown): GatewayError =>
      deadline.signal.aborted || error instanceof GatewayError ? deadline.explain(error) : (route.adapter.explain?.(error) ?? deadline.explain(error))

    const extraHeaders = translator.upstream === ingress.api ? options.passthroughHeaders : undefined
    let reply: UpstreamReply
    try {
      reply = await this.attempts(call, deadline, explain, () =>
        route.adapter.send(translator.upstream, upstream.body, streaming, deadline.signal, extraHeaders),
      )
    } catch (error) {
      deadline.clear()
      const failure = explain(error)
      call.fail(failure)
      return { ids, headers, error: failure }
    }

    if ('events' in reply) {
      return { ids, headers, stream: this.streamed(ingress, translator, body, reply.events, { call, deadline, explain, price, model: route.model }) }
    }

    try {
      const answer = translator.response(reply.json, body)
      const cost = price(answer.usage, answer.model)
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
   * Tries `send` until it answers, a failure is not worth another try, or the tries run out. A
   * wait that would outlast the total timeout is not begun: the caller gets the upstream's answer
   * (a 429 with its retry-after) rather than a 504 after waiting for nothing.
   */
  private async attempts(
    call: LlmCall,
    deadline: Deadline,
    explain: (error: unknown) => GatewayError,
    send: () => Promise<UpstreamReply>,
  ): Promise<UpstreamReply> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call.attempt(send)
      } catch (error) {
        const failure = explain(error)
        if (attempt >= this.deps.maxRetries || deadline.signal.aborted || !isRetryable(failure)) throw failure
        const wait = retryDelayMs(failure, attempt)
        if (wait >= deadline.remainingMs()) throw failure
        call.retrying(failure)
        await sleep(wait, undefined, { signal: deadline.signal })
      }
    }
  }

  private streamed(
    ingress: Ingress,
    translator: Translator,
    body: Record<string, unknown>,
    upstream: AsyncIterable<StreamEvent>,
    context: { call: LlmCall; deadline: Deadline; explain: (error: unknown) => GatewayError; price: (usage: Usage | undefined, answered?: string) => Cost | undefined; model: string },
  ): CallStream {
    const { call, deadline, explain, price } = context
    const state = translator.stream(body)
    const captured: string[] | undefined = this.deps.captureContent ? [] : undefined
    let settled = false
    async function* events(): AsyncGenerator<StreamEvent> {
      const out: StreamEvent[] = []
      try {
        for await (const event of upstream) {
          state.push(event, out)
          for (const translated of out) {
            if (ingress.carriesToken(translated)) call.markFirstToken()
            if (captured) ingress.collect?.(translated, captured)
            yield translated
          }
          out.length = 0
        }
        // An upstream stream cut short by the total timeout or the caller leaving may end
        // quietly: it must not pass for a complete one (504 event / cancelled).
        if (deadline.signal.aborted) throw new Error('the upstream stream was aborted')
        state.end(out)
        for (const translated of out) yield translated
        const facts = state.facts()
        settled = true
        call.succeed({
          usage: facts.usage,
          cost: price(facts.usage, facts.model),
          responseModel: facts.model,
          responseId: facts.id,
          finishReasons: facts.finishReasons,
          outputMessages: captured ? JSON.stringify([{ role: 'assistant', content: captured.join('') }]) : undefined,
        })
      } catch (error) {
        const failure = explain(error)
        settled = true
        call.fail(failure)
        throw failure
      } finally {
        deadline.clear()
        // The writer stopped reading (the caller went away between events): still a cancellation.
        if (!settled) {
          settled = true
          call.fail(deadline.explain(new Error('stream abandoned')))
        }
      }
    }
    return {
      ids: call.ids,
      model: context.model,
      events: events(),
      usage: () => state.facts().usage,
      cost: () => {
        const facts = state.facts()
        return price(facts.usage, facts.model)
      },
      failure: (error) => (error instanceof GatewayError ? error : explain(error)),
      close() {
        // A stream never read (its writer failed before the first event) has no generator to
        // end it: the upstream request is aborted and the call recorded as cancelled here.
        if (settled) return
        settled = true
        deadline.abandon()
        call.fail(deadline.explain(new Error('stream never read')))
      },
    }
  }
}

/** Cost of one exchange, or undefined when the usage or the model's price is unknown. */
export function priceOf(prices: PriceBook, provider: string, model: string, usage: Usage | undefined): Cost | undefined {
  if (!usage) return undefined
  const price = prices.lookup(provider, model)
  return price ? computeCost(usage, price) : undefined
}
