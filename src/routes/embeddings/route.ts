// POST /v1/embeddings: OpenAI's embeddings API through the dispatch, for providers that have it
// (OpenAI and OpenAI-compatible servers); input tokens are metered and priced like any call.
import type { FastifyInstance } from 'fastify'
import type { Dispatch } from '../../core/dispatch.ts'
import { embeddingsIngress } from '../../core/ingress/embeddings.ts'
import { callOptions, sendResult } from '../answer.ts'

const input = {
  anyOf: [
    { type: 'string' },
    { type: 'array', minItems: 1, items: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'array', items: { type: 'integer' } }] } },
  ],
}

export const embeddingsBodySchema = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 256 },
    input,
    encoding_format: { enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const

export function embeddingsRoute(app: FastifyInstance, dispatch: Dispatch): void {
  app.post<{ Body: Record<string, unknown> & { model: string } }>('/v1/embeddings', { schema: { body: embeddingsBodySchema } }, async (request, reply) => {
    request.llmModel = request.body.model
    return sendResult(request, reply, (signal) => dispatch.call(embeddingsIngress, request.body, signal, callOptions(request)), () => {
      throw new Error('embeddings are not streamed')
    })
  })
}
