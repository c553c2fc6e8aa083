// A named key's model allow-list, checked in one place for every model route: a preHandler
// (after the body's schema, before the route, so before any upstream call or any admission by
// rate limits and budgets). A model route is any POST under /v1 whose body names a `model` (chat
// completions, responses, embeddings, messages and count_tokens, the agent): a route added later
// is covered without a word here. The model is the name the caller sent (an alias, a route
// group), as the key's `models` list names it. The master key is for the admin API only: it
// calls no model, so its holder never needs it in a client's configuration.
import type { FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.ts'

function modelOf(request: FastifyRequest): string | undefined {
  // The model APIs live under /v1 (the admin API's bodies are not calls).
  if (request.method !== 'POST' || !request.routeOptions.url?.startsWith('/v1/')) return undefined
  const model = (request.body as { model?: unknown } | null | undefined)?.model
  return typeof model === 'string' ? model : undefined
}

export async function checkModelAllowed(request: FastifyRequest): Promise<void> {
  const principal = request.principal
  if (principal === undefined || (principal.kind !== 'master' && principal.models === undefined)) return
  const model = modelOf(request)
  if (model === undefined) return
  if (principal.kind === 'master') {
    throw new GatewayError('forbidden', 'The master key (GATEWAY_MASTER_KEY) administers keys and calls no model: create a key with POST /admin/keys and use it.', {
      code: 'master_key_not_for_models',
    })
  }
  if (principal.models?.includes(model)) return
  const allowed = principal.models!.length > 0 ? principal.models!.map((m) => `\`${m}\``).join(', ') : 'none'
  throw new GatewayError('forbidden', `The key \`${principal.name}\` may not use the model \`${model}\` (it may use: ${allowed}).`, {
    param: 'model',
    code: 'model_not_allowed',
  })
}
