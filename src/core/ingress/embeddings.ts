// The embeddings API as an ingress: one JSON answer, its input tokens metered.
import type { EmbeddingCreateParams } from 'openai/resources/embeddings'
import { withAdditions, type Ingress } from './ingress.ts'

export const embeddingsIngress: Ingress = {
  api: 'embeddings',
  operation: 'embeddings',

  shape(body) {
    const input = (body as unknown as EmbeddingCreateParams).input
    return { model: body.model as string, stream: false, messagesCount: Array.isArray(input) ? input.length : 1 }
  },

  input: (body) => JSON.stringify(body.input),
  output: () => '[]',
  carriesToken: () => false,

  finish: withAdditions,
}
