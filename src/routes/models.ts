// GET /v1/models: what this gateway can route to, in OpenAI's list shape.
import type { FastifyInstance } from 'fastify'
import type { ModelRouter } from '../core/router.ts'

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
  const body = { object: 'list', data: [...models, ...aliases] }
  app.get('/v1/models', async () => body)
}
