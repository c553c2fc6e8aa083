// What `reasoning_effort` means to the agent: how many model calls a run may make. Whether the
// model also gets the provider's own reasoning setting is the provider's trait
// (`ProviderAdapter.reasoning`, from its registry entry).

export type Effort = 'low' | 'medium' | 'high'
export const EFFORTS: readonly Effort[] = ['low', 'medium', 'high']

/**
 * Model calls per run, the final forced answer included. Low is one tool round trip plus a
 * correction; high leaves room for multi-step plans. `max_iterations` overrides (1…50).
 */
export const ITERATION_CAPS: Record<Effort, number> = { low: 3, medium: 6, high: 10 }
export const MAX_ITERATIONS_LIMIT = 50
