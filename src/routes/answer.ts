// How every model route answers a dispatch result: the trace headers, then the JSON body, the SSE
// frames (with backpressure, the upstream aborted the moment the caller goes) or the error.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ServerResponse } from 'node:http'
import { CALLER_GONE } from '../core/deadline.ts'
import type { CallStream, DispatchResult } from '../core/dispatch.ts'
import type { TurnOptions } from '../core/model-turn.ts'
import { requestContext } from '../telemetry/server-span.ts'
import { traceHeaders } from '../telemetry/trace-context.ts'
import { writeEventStream } from './sse.ts'

/**
 * Aborts when the caller goes away before the response is finished. The listener goes first
 * ('close' has others: the SERVER span ends there) and aborts with a ready-made
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
  const added = headerSafe(result.headers)
  const headers = { ...traceHeaders(result.ids), ...added }
  if ('stream' in result) {
    try {
      return await writeEventStream(reply, headers, frames(result.stream))
    } finally {
      result.stream.close()
    }
  }
  if ('error' in result) {
    reply.headers(added)
    throw result.error
  }
  return reply.headers(headers).send(result.json)
}

/** The caller's `cache-control` header (the response cache reads `no-store` and `no-cache` in it). */
export function cacheControl(request: FastifyRequest): string | undefined {
  const value = request.headers['cache-control']
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * What every model route tells the dispatch of the request besides its body: who is calling, what
 * the cache may do, who is told what the call used (rate limits and budgets count it, and check
 * again before an agent run's later turns), and the request's span its spans hang below.
 */
export function callOptions(request: FastifyRequest): TurnOptions {
  return { caller: request.principal, cacheControl: cacheControl(request), onSettled: request.onSettled, admitTurn: request.admitTurn, parent: requestContext(request.raw) }
}

/** Longest value of a header the call adds: clients refuse a response whose headers pass 16 KiB. */
export const MAX_ADDED_HEADER = 4096

/**
 * The headers a call adds, fit to send. Their values carry the caller's words (the type of a tool
 * the upstream cannot run, in `x-gateway-omitted`), and Node refuses to send a header with a
 * control or non-Latin-1 character: the whole answer failed (a 500, or a stream that never
 * started). So anything but visible ASCII is percent-encoded as UTF-8 (`%` too, so it reads back
 * with decodeURIComponent), and a value longer than MAX_ADDED_HEADER ends, at a list boundary,
 * with `, ...`.
 */
export function headerSafe(headers: Record<string, string>): Record<string, string> {
  const safe: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    let text = /^[\x20-\x24\x26-\x7e]*$/.test(value) ? value : value.replace(/[^\x20-\x24\x26-\x7e]/gu, percentEncoded)
    if (text.length > MAX_ADDED_HEADER) {
      const cut = text.lastIndexOf(', ', MAX_ADDED_HEADER - 5)
      text = `${text.slice(0, cut > 0 ? cut : MAX_ADDED_HEADER - 5)}, ...`
    }
    safe[name] = text
  }
  return safe
}

/** One character as UTF-8 percent escapes (a lone surrogate as U+FFFD's: never a throw). */
function percentEncoded(char: string): string {
  let escaped = ''
  for (const byte of Buffer.from(char, 'utf8')) escaped += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  return escaped
}
