// One target's part of a call: an exchange with its upstream that counts as answered once the
// answer begins (a JSON body, or a stream's first event), and the tries of it under the retry
// policy of ./attempts.ts. The dispatch walks the targets (./dispatch.ts); this runs each one.
import { setTimeout as sleep } from 'node:timers/promises'
import { GatewayError } from '../errors.ts'
import type { CallParent, LlmCall } from '../telemetry/llm-call.ts'
import { isRetryable, retryDelayMs } from './attempts.ts'
import type { Deadline } from './deadline.ts'
import type { Api, StreamEvent } from './translator.ts'
import type { ProviderAdapter, UpstreamReply } from './types.ts'

/**
 * The longest retry wait on one target of a group that has others: a 429 asking for 20 s moves
 * the call on at once rather than holding it (the backoff of a retry, 0.5 s then 1 s, still waits).
 */
export const MAX_WAIT_BEFORE_MOVING_ON_MS = 1_000

const FIRST_BYTE: Error = Object.assign(new Error('the first byte did not come in time'), { name: 'AbortError' })

export interface ExchangeOptions {
  streaming: boolean
  deadline: Deadline
  /** The caller's headers that pass on to an upstream of the caller's API. */
  headers: Record<string, string> | undefined
  /** A route group's `firstByteTimeoutMs`. */
  firstByteMs: number | undefined
  /** The attempt's span, the upstream request's parent. */
  parent: CallParent
}

/**
 * One exchange with a target, up to the first event of a stream: a stream that breaks, or says
 * it failed, before its first event has sent the caller nothing, so it is a failed attempt like
 * a 5xx (retried, or the group moves on). With a group's `firstByteTimeoutMs`, an upstream that
 * has not begun its answer (the JSON body, or a stream's first event) by then is given up on: a
 * timeout the group moves on from.
 */
export async function exchange(adapter: ProviderAdapter, api: Api, body: Record<string, unknown>, options: ExchangeOptions): Promise<UpstreamReply> {
  const { streaming, deadline, headers, firstByteMs, parent } = options
  if (firstByteMs === undefined) return begun(await adapter.send(api, body, streaming, deadline.signal, { headers, parent }))
  const late = new AbortController()
  const timer = setTimeout(() => late.abort(FIRST_BYTE), firstByteMs)
  try {
    return await begun(await adapter.send(api, body, streaming, AbortSignal.any([deadline.signal, late.signal]), { headers, parent }))
  } catch (error) {
    if (late.signal.aborted && !deadline.signal.aborted) {
      throw new GatewayError('timeout', `${adapter.name} did not begin its answer within ${firstByteMs} ms (the route group's firstByteTimeoutMs)`, { cause: error })
    }
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A reply whose stream has delivered its first event (or ended), the event kept for whoever reads
 * the stream; what the stream throws before it, thrown here, inside the attempt.
 */
async function begun(reply: UpstreamReply): Promise<UpstreamReply> {
  if (!('events' in reply)) return reply
  const iterator = reply.events[Symbol.asyncIterator]()
  const first = await iterator.next()
  // A 200 stream closed before any event has answered nothing: a failed attempt like a 5xx.
  if (first.done) throw new GatewayError('upstream_error', 'The upstream ended its stream before sending any event')
  async function* events(): AsyncGenerator<StreamEvent> {
    yield first.value
    // The same iterator: the rest of the stream, and an early return still reaches the upstream.
    yield* { [Symbol.asyncIterator]: () => iterator }
  }
  return { events: events() }
}

export interface AttemptLimits {
  /** Tries of this target after its first. */
  retries: number
  /** Attempts of the whole call so far, and at most; shared by every target of the walk. */
  budget: { used: number; max: number }
  /** The longest retry wait worth taking here (a group with other targets moves on instead). */
  maxWaitMs: number
}

/**
 * Tries `send` until it answers, a failure is not worth another try, or the tries run out; each
 * try is a provider span of `call`. A wait that would outlast the total timeout is not begun: the
 * caller gets the upstream's answer (a 429 with its retry-after) rather than a 504 after waiting
 * for nothing.
 */
export async function runAttempts(
  call: LlmCall,
  deadline: Deadline,
  explain: (error: unknown) => GatewayError,
  send: (parent: CallParent) => Promise<UpstreamReply>,
  limits: AttemptLimits,
): Promise<UpstreamReply> {
  const { retries, budget, maxWaitMs } = limits
  for (let attempt = 0; ; attempt++) {
    budget.used++
    try {
      return await call.attempt(send)
    } catch (error) {
      const failure = explain(error)
      if (attempt >= retries || budget.used >= budget.max || deadline.signal.aborted || !isRetryable(failure)) throw failure
      const wait = retryDelayMs(failure, attempt)
      // Not worth waiting for: the time is short, or another target can take the call now.
      if (wait >= deadline.remainingMs() || wait > maxWaitMs) throw failure
      call.retrying(failure)
      await sleep(wait, undefined, { signal: deadline.signal })
    }
  }
}
