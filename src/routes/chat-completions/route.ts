// POST /v1/chat/completions: validation by schema, the work by ChatService, and the writing of
// the answer — JSON, or SSE frames with backpressure, aborting upstream the moment the caller goes.
import type { FastifyInstance } from 'fastify'
import type { ServerResponse } from 'node:http'
import { CALLER_GONE, type ChatService } from '../../core/chat.ts'
import type { ChatRequest } from '../../core/types.ts'
import { traceHeaders } from '../../telemetry/trace-context.ts'
import { chatCompletionBodySchema } from './schema.ts'
import { writeEventStream } from '../sse.ts'

/**
 * Aborts when the caller goes away before the response is finished. The listener goes first
 * ('close' has others: the HTTP instrumentation ends its span there) and aborts with a ready-made
 * reason: when a thousand callers leave at once, each upstream request must be cut at once,
 * not after the bookkeeping of the ones before it.
 */
function callerSignal(res: ServerResponse): AbortSignal {
  const caller = new AbortController()
  // 'close' also fires after a normal finish; only an unfinished response means the caller left.
  res.prependOnceListener('close', () => {
    if (!res.writableFinished) caller.abort(CALLER_GONE)
  })
  return caller.signal
}

export function chatCompletionsRoute(app: FastifyInstance, chat: ChatService): void {
  app.post<{ Body: ChatRequest }>(
    '/v1/chat/completions',
    { schema: { body: chatCompletionBodySchema } },
    async (request, reply) => {
      const result = await chat.handle(request.body, callerSignal(reply.raw))
      request.traceIds = result.ids
      request.llmModel = request.body.model
      const headers = traceHeaders(result.ids)
      if ('frames' in result) return writeEventStream(reply, headers, result.frames)
      if ('error' in result) throw result.error
      return reply.headers(headers).send(result.json)
    },
  )
}
