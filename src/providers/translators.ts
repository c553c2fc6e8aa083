// The translators, keyed by (ingress API, upstream API): the only place that says which caller
// API reaches which provider API, and how. A pair the same on both sides is a passthrough.
import type { Api, Translator } from '../core/translator.ts'
import type { ProviderAdapter } from '../core/types.ts'
import { GatewayError } from '../errors.ts'
import { chatToMessages } from './anthropic/from-chat.ts'
import { responsesToMessages } from './anthropic/from-responses.ts'
import { messagesPassthrough } from './anthropic/messages-passthrough.ts'
import { responsesToChat } from './openai/from-responses.ts'
import { messagesToChat } from './openai/from-messages.ts'
import { chatPassthrough } from './openai/chat-passthrough.ts'
import { embeddingsPassthrough } from './openai/embeddings-passthrough.ts'
import { responsesPassthrough } from './openai/responses-passthrough.ts'

const TRANSLATORS: readonly Translator[] = [
  chatPassthrough,
  chatToMessages,
  responsesPassthrough,
  responsesToChat,
  responsesToMessages,
  messagesPassthrough,
  messagesToChat,
  embeddingsPassthrough,
]

const byPair = new Map(TRANSLATORS.map((t) => [`${t.ingress}>${t.upstream}`, t]))

/**
 * How a call in `ingress` reaches `adapter`: passthrough when the provider speaks the caller's
 * API, else the first API of the provider a translator exists for. None: a 400 naming the model.
 */
export function translatorFor(ingress: Api, adapter: ProviderAdapter, requestedModel: string): Translator {
  if (adapter.apis.includes(ingress)) {
    const same = byPair.get(`${ingress}>${ingress}`)
    if (same) return same
  }
  for (const api of adapter.apis) {
    const translator = byPair.get(`${ingress}>${api}`)
    if (translator) return translator
  }
  throw new GatewayError(
    'invalid_request',
    `The model \`${requestedModel}\` (provider ${adapter.name}) does not support the ${API_NAMES[ingress]}.`,
    { param: 'model', code: 'unsupported_api' },
  )
}

const API_NAMES: Record<Api, string> = {
  chat: 'Chat Completions API',
  responses: 'Responses API',
  messages: 'Messages API',
  embeddings: 'embeddings API',
}
