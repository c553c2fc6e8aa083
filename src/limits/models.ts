// The names one model goes by, so a per-model limit holds however the caller spells the model:
// `gpt-4o`, `openai/gpt-4o`, an alias of it, or a route group sending calls to it all reach the
// same upstream model, and a limit on any of those names counts every one of them.
import type { ModelRouter } from '../core/router.ts'

/** A model's names as the caller gave it; throws the 4xx of a model the gateway does not serve. */
export type ModelNames = (model: string) => string[]

/** As asked, the route group's name, and each target's `provider/model` and bare model. */
export function modelNames(router: ModelRouter): ModelNames {
  return (model) => {
    const plan = router.plan(model)
    const names = new Set([model])
    if (plan.group) names.add(plan.group.name)
    for (const { route } of plan.targets) names.add(`${route.adapter.name}/${route.model}`).add(route.model)
    return [...names]
  }
}
