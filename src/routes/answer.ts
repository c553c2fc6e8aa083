// How every model route answers a dispatch result: the trace headers, then the JSON body, the SSE
// frames (with backpressure, the upstream aborted the moment the caller goes) or the error.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ServerResponse } from 'node:http'
import { CALLER_GONE } from '../core/deadline.ts'
import type { CallStream, DispatchResult } from '../core/dispatch.ts'
import { traceHeaders } from '../telemetry/trace-context.ts'
import { writeEventStream } from './sse.ts'

/**
 * Aborts when the caller goes away before the response is finished. The listener goes first
 * ('close' has others: the HTTP instrumentation ends its span there) and aborts with a ready-made
 * reason: when a thousand callers leave at once, each upstream request must be cut at once,
 * not after the bookkeeping of the ones before it.
 */
export function callerSignal(res: ServerResponse): AbortSignal {
  const caller = new AbortController()
  // 'close' also fires after a normal finish; only an unfinished response means the caller left.
  res.prependOnceListener('close', () => {
    if (!res.writableFinished) caller.abort(CALLER_GONE)
  })
  return caller.signal
}

export async function sendResult(
  request: FastifyRequest,
  reply: FastifyReply,
  call: (signal: AbortSignal) => Promise<DispatchResult>,
  frames: (stream: CallStream) => AsyncIterable<string>,
): Promise<unknown> {
  const result = await call(callerSignal(reply.raw))
  request.traceIds = result.ids
  const headers = { ...traceHeaders(result.ids), ...result.headers }
  if ('stream' in result) return writeEventStream(reply, headers, frames(result.stream))
  if ('error' in result) {
    reply.headers(result.headers)
    throw result.error
  }
  return reply.headers(headers).send(result.json)
}
