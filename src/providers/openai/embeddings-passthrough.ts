// Embeddings → an OpenAI(-compatible) /embeddings endpoint: passthrough; usage read from the answer.
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings'
import type { Translator } from '../../core/translator.ts'
import { emptyUsage } from '../../core/types.ts'
import { GatewayError } from '../../errors.ts'

export const embeddingsPassthrough: Translator = {
  ingress: 'embeddings',
  upstream: 'embeddings',

  request(body, model) {
    return { body: { ...body, model } }
  },

  response(upstream) {
    const answer = upstream as unknown as CreateEmbeddingResponse
    if (!Array.isArray(answer.data)) throw new GatewayError('upstream_error', 'The upstream answered with something that is not a list of embeddings')
    const usage = answer.usage ? { ...emptyUsage(), input: answer.usage.prompt_tokens ?? 0 } : undefined
    return { body: upstream, usage, model: answer.model, finishReasons: [] }
  },

  stream() {
    throw new GatewayError('invalid_request', 'Embeddings are not streamed.')
  },
}
