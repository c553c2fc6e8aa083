// POST /v1/chat/completions: validation by schema, the call by the dispatch, and the writing of
// the answer — JSON, or SSE frames with backpressure, aborting upstream the moment the caller goes.
import type { FastifyInstance } from 'fastify'
import type { Dispatch } from '../../core/dispatch.ts'
import { chatFrames, chatIngress } from '../../core/ingress/chat.ts'
import type { ChatRequest } from '../../core/types.ts'
import { chatCompletionBodySchema } from './schema.ts'
import { callOptions, sendResult } from '../answer.ts'

export function chatCompletionsRoute(app: FastifyInstance, dispatch: Dispatch): void {
  app.post<{ Body: ChatRequest }>(
    '/v1/chat/completions',
    { schema: { body: chatCompletionBodySchema } },
    async (request, reply) => {
      const body = request.body
      request.llmModel = body.model
      return sendResult(request, reply, (signal) => dispatch.call(chatIngress, body, signal, callOptions(request)), (stream) =>
        chatFrames(stream, body.stream_options?.include_usage === true),
      )
    },
  )
}
