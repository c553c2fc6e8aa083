// GET /v1/models: what this gateway can route to, in OpenAI's list shape; GET /v1/models/{id}:
// one of those, in OpenAI's retrieve shape (`client.models.retrieve`).
import type { FastifyInstance } from 'fastify'
import type { ModelRouter } from '../core/router.ts'
import { GatewayError } from '../errors.ts'

export interface ModelEntry {
  id: string
  object: 'model'
  created: number
  owned_by: string
}

export function modelsRoute(app: FastifyInstance, router: ModelRouter, models: ModelEntry[]): void {
  const aliases: ModelEntry[] = router
    .aliasEntries()
    .map(([alias, target]) => ({ id: alias, object: 'model', created: 0, owned_by: `alias of ${target}` }))
  const groups: ModelEntry[] = router.routeGroups().map((group) => ({
    id: group.name,
    object: 'model',
    created: 0,
    owned_by: `route group (${group.config.strategy}: ${group.targets.map((t) => `${t.route.adapter.name}/${t.route.model}`).join(', ')})`,
  }))
  const data = [...models, ...groups, ...aliases]
  const body = { object: 'list', data }
  const byId = new Map(data.map((entry) => [entry.id, entry]))
  app.get('/v1/models', async () => body)
  // A wildcard, not `:id`: ids of configured providers hold a slash (`groq/llama-3.3-70b`), which a
  // caller may send as is or encoded (the SDK sends `groq%2Fllama-3.3-70b`; both arrive decoded).
  app.get('/v1/models/*', async (request) => {
    const id = (request.params as { '*': string })['*']
    const entry = byId.get(id)
    if (entry) return entry
    throw new GatewayError(
      'model_not_found',
      `The model \`${id}\` is not listed by this gateway. GET /v1/models lists what is configured.`,
      { param: 'model' },
    )
  })
}
