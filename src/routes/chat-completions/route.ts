// POST /v1/chat/completions: validation by schema, the work by ChatService, and the writing of
// the answer — JSON, or SSE frames with backpressure, aborting upstream the moment the caller goes.
import type { FastifyInstance } from 'fastify'
import type { ChatService } from '../../core/chat.ts'
import type { ChatRequest } from '../../core/types.ts'
import { traceHeaders } from '../../telemetry/trace-context.ts'
import { chatCompletionBodySchema } from './schema.ts'
import { callerSignal, writeEventStream } from '../sse.ts'

export function chatCompletionsRoute(app: FastifyInstance, chat: ChatService): void {
  app.post<{ Body: ChatRequest }>(
    '/v1/chat/completions',
    { schema: { body: chatCompletionBodySchema } },
    async (request, reply) => {
      const result = await chat.handle(request.body, callerSignal(reply))
      request.traceIds = result.ids
      request.llmModel = request.body.model
      const headers = traceHeaders(result.ids)
      if ('frames' in result) return writeEventStream(reply, headers, result.frames)
      if ('error' in result) throw result.error
      return reply.headers(headers).send(result.json)
    },
  )
}
