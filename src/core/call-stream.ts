// A streamed model call as the dispatch hands it to a route: the upstream's events translated into
// the caller's API one by one, each token marked, the answer captured when content capture is on,
// the events kept for the response cache when it takes them, and the call recorded as a success,
// a failure or a cancellation exactly once, whichever way the stream ends.
import type { Cost } from '../pricing/cost.ts'
import { GatewayError } from '../errors.ts'
import type { LlmCall } from '../telemetry/llm-call.ts'
import type { TraceIds } from '../telemetry/trace-context.ts'
import type { Deadline } from './deadline.ts'
import type { Ingress } from './ingress/ingress.ts'
import type { AnswerFacts, StreamEvent, Translator } from './translator.ts'
import { emptyUsage, type Spent, type Usage } from './types.ts'

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

/** A stream's event as the response cache keeps it: the SSE event name and the JSON data. */
export interface KeptEvent {
  event?: string | undefined
  data: string
}

/** Where a finished stream's events go for the response cache. */
export interface StreamKeeper {
  /** Events longer than this in all are not kept. */
  maxBytes: number
  save(events: KeptEvent[], facts: AnswerFacts, cost: Cost | undefined): void
}

export interface StreamContext {
  call: LlmCall
  deadline: Deadline
  /** The gateway's error for what the stream threw. */
  explain: (error: unknown) => GatewayError
  price: (usage: Usage | undefined, answered?: string) => Cost | undefined
  model: string
  captureContent: boolean
  keeper: StreamKeeper | undefined
}

export function callStream(ingress: Ingress, translator: Translator, body: Record<string, unknown>, upstream: AsyncIterable<StreamEvent>, context: StreamContext): CallStream {
  const { call, deadline, explain, price, keeper } = context
  const state = translator.stream(body)
  const captured: string[] | undefined = context.captureContent ? [] : undefined
  // The characters of text the caller was sent: what a stream cut before its usage is charged for.
  let streamedChars = 0
  const text: string[] = []
  // The caller's events as the cache keeps them, serialised before the framer adds to them;
  // dropped once longer than an entry may be.
  let kept: KeptEvent[] | undefined = keeper ? [] : undefined
  let keptLength = 0
  let settled = false
  // What the stream used until it ended: a cancelled stream is paid for that much. OpenAI's APIs
  // say their usage only in the last event, so a stream ended before it (the caller hung up after
  // the answer) is charged an estimate rather than nothing, which would let budgets be evaded.
  const spent = (): Spent => {
    const facts = state.facts()
    if (facts.usage) return { usage: facts.usage, costUsd: price(facts.usage, facts.model)?.total }
    const usage = { ...emptyUsage(), input: estimateTokens(textLength(body)), output: estimateTokens(streamedChars) }
    return { usage, costUsd: price(usage, facts.model)?.total, estimated: true }
  }
  const keep = (event: StreamEvent) => {
    if (!kept) return
    const data = event.raw ?? JSON.stringify(event.data)
    keptLength += data.length
    if (keptLength > keeper!.maxBytes) kept = undefined
    else kept.push({ event: event.event, data })
  }
  async function* events(): AsyncGenerator<StreamEvent> {
    const out: StreamEvent[] = []
    try {
      for await (const event of upstream) {
        state.push(event, out)
        for (const translated of out) {
          if (ingress.carriesToken(translated)) call.markFirstToken()
          ingress.collect?.(translated, text)
          for (const part of text) streamedChars += part.length
          if (captured) captured.push(...text)
          text.length = 0
          keep(translated)
          yield translated
        }
        out.length = 0
      }
      // An upstream stream cut short by the total timeout or the caller leaving may end
      // quietly: it must not pass for a complete one (504 event / cancelled).
      if (deadline.signal.aborted) throw new Error('the upstream stream was aborted')
      state.end(out)
      for (const translated of out) {
        keep(translated)
        yield translated
      }
      const facts = state.facts()
      const cost = price(facts.usage, facts.model)
      settled = true
      // A stream that never said how it ended (an upstream that closed early but cleanly) is
      // passed on as it came, but not kept: every hit would repeat the cut.
      if (kept && facts.finishReasons.length > 0) keeper!.save(kept, facts, cost)
      call.succeed({
        usage: facts.usage,
        cost,
        responseModel: facts.model,
        responseId: facts.id,
        finishReasons: facts.finishReasons,
        outputMessages: captured ? JSON.stringify([{ role: 'assistant', content: captured.join('') }]) : undefined,
      })
    } catch (error) {
      const failure = explain(error)
      settled = true
      call.fail(failure, spent())
      throw failure
    } finally {
      deadline.clear()
      // The writer stopped reading (the caller went away between events): still a cancellation.
      if (!settled) {
        settled = true
        call.fail(deadline.explain(new Error('stream abandoned')), spent())
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
      call.fail(deadline.explain(new Error('stream never read')), spent())
    },
  }
}

/** Roughly four characters a token: the estimate OpenAI's own guidance gives for English text. */
const CHARS_PER_TOKEN = 4
/** The most values of a request read for an estimate: bounded work, whatever the caller sent. */
const MAX_VALUES = 200_000

function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN)
}

/**
 * The characters of text in a request (messages, input, instructions, tools), read only when a
 * stream ended without its usage: inline media (`data:` URLs, base64 `data`) are not text and are
 * left out, and at most MAX_VALUES values are read.
 */
function textLength(body: unknown): number {
  let chars = 0
  let budget = MAX_VALUES
  const stack: unknown[] = [body]
  while (stack.length > 0 && budget-- > 0) {
    const value = stack.pop()
    if (typeof value === 'string') {
      if (!value.startsWith('data:')) chars += value.length
    } else if (Array.isArray(value)) {
      for (const item of value) {
        if (stack.length >= budget) break
        stack.push(item)
      }
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>
      for (const key in record) {
        if (stack.length >= budget) break
        if (!MEDIA_KEYS.has(key)) stack.push(record[key])
      }
    }
  }
  return chars
}

/** Fields holding media or identifiers rather than text a model reads as tokens. */
const MEDIA_KEYS = new Set(['data', 'file_data', 'image_url', 'model', 'stream_options'])
