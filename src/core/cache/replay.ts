// A response cache hit, answered as the call's own: the kept JSON answer, or the kept events
// replayed in time slices, with the call's trace ids and the gateway's additions; no upstream,
// $0, and what the answer cost when it was made recorded as saved.
import { GatewayError, asGatewayError } from '../../errors.ts'
import type { Cost } from '../../pricing/cost.ts'
import type { LlmCall } from '../../telemetry/llm-call.ts'
import type { DispatchResult } from '../dispatch.ts'
import type { Ingress } from '../ingress/ingress.ts'
import type { StreamEvent } from '../translator.ts'
import type { CachedAnswer } from './response-cache.ts'
import { TimeSlice } from './time-slice.ts'

const ZERO_COST: Cost = Object.freeze({ input: 0, output: 0, total: 0 })

export function replay(ingress: Ingress, call: LlmCall, hit: CachedAnswer, headers: Record<string, string>, captureContent: boolean): DispatchResult {
  const ids = call.ids
  call.target({ provider: hit.provider, model: hit.model, endpoint: undefined, knownModel: true })
  call.cache('hit')
  Object.assign(headers, hit.headers, {
    'x-gateway-cache': 'hit',
    'x-gateway-target': `${hit.provider}/${hit.model}`,
    age: String(Math.max(0, Math.floor((Date.now() - hit.storedAt) / 1000))),
  })
  const outcome = {
    usage: hit.usage,
    cost: hit.costUsd === undefined ? undefined : { input: 0, output: 0, total: hit.costUsd },
    responseModel: hit.responseModel,
    responseId: hit.responseId,
    finishReasons: hit.finishReasons,
    cacheHit: true,
  }
  // With content capture on, a hit's span shows what it answered, as a miss's does.
  const capture = captureContent
  if (hit.json) {
    call.succeed({ ...outcome, outputMessages: capture ? ingress.output(hit.json) : undefined })
    return { ids, headers, json: ingress.finish(hit.json, ZERO_COST, ids), usage: hit.usage, cost: ZERO_COST }
  }
  const kept = hit.events ?? []
  const captured: string[] | undefined = capture ? [] : undefined
  let settled = false
  const abandoned = () => {
    if (settled) return
    settled = true
    call.fail(new GatewayError('cancelled', 'The caller closed the connection'))
  }
  async function* events(): AsyncGenerator<StreamEvent> {
    try {
      const slice = new TimeSlice()
      for (const { event, data } of kept) {
        // Nothing here waits for the upstream: a fast caller drains a long answer without the
        // socket ever pushing back, and the loop would serve no one else meanwhile.
        if (slice.over) await slice.pause()
        const parsed: StreamEvent = { event, data: JSON.parse(data) as Record<string, unknown>, raw: data }
        if (ingress.carriesToken(parsed)) call.markFirstToken()
        if (captured) ingress.collect?.(parsed, captured)
        yield parsed
      }
      settled = true
      call.succeed({ ...outcome, outputMessages: captured ? JSON.stringify([{ role: 'assistant', content: captured.join('') }]) : undefined })
    } finally {
      abandoned()
    }
  }
  return {
    ids,
    headers,
    stream: {
      ids,
      model: hit.model,
      events: events(),
      usage: () => hit.usage,
      cost: () => ZERO_COST,
      failure: (error) => (error instanceof GatewayError ? error : asGatewayError(error)),
      close: abandoned,
    },
  }
}
