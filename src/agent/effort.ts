// What `reasoning_effort` means to the agent: how many model calls a run may make, and whether
// the provider's own reasoning setting is turned on for the model.

export type Effort = 'low' | 'medium' | 'high'
export const EFFORTS: readonly Effort[] = ['low', 'medium', 'high']

/**
 * Model calls per run, the final forced answer included. Low is one tool round trip plus a
 * correction; high leaves room for multi-step plans. `max_iterations` overrides (1…50).
 */
export const ITERATION_CAPS: Record<Effort, number> = { low: 3, medium: 6, high: 10 }
export const MAX_ITERATIONS_LIMIT = 50

/**
 * Models that take a reasoning setting: OpenAI's o-series and GPT-5 (`reasoning_effort`), Claude
 * 3.7 and later (extended thinking, via the Anthropic translation), and the demo reasoner. Other
 * models answer `reasoning_effort` with a 400, so it is not sent to them.
 */
export function supportsReasoning(provider: string, model: string): boolean {
  switch (provider) {
    case 'openai':
      return /^(o\d|gpt-5)/.test(model)
    case 'anthropic':
      return /^claude-(3-7|(opus|sonnet|haiku)-[4-9]|[a-z]+-[5-9])/.test(model)
    case 'demo':
      return model === 'demo-reasoner'
    default:
      return false
  }
}
