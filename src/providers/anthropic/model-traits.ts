// What each Claude generation accepts on the Messages API, where it changes the translation.
// Anthropic answers a parameter a model does not take with a 400, so these decide what is sent:
// structured outputs arrived with Opus 4.1 / the 4.5 family; Opus 4.6 moved thinking to
// `adaptive` + `output_config.effort` and 4.7 onwards rejects token budgets; Sonnet 4.6 onwards
// rejects temperature and top_p (Sonnet 4.6 takes only the default, 1).

export interface ModelTraits {
  /** `output_config.format` (native JSON schema output). */
  structuredOutputs: boolean
  /** `budget`: `thinking: {type: 'enabled', budget_tokens}`. `adaptive`: `{type: 'adaptive'}` + effort. */
  thinking: 'budget' | 'adaptive'
  /** `temperature` and `top_p`. */
  sampling: boolean
}

const GENERATIONS: ReadonlyArray<readonly [RegExp, ModelTraits]> = [
  // Claude 3.x, Sonnet 4 and Opus 4 (bare, -0 or dated)
  [/^claude-(?:instant|2|3)/, { structuredOutputs: false, thinking: 'budget', sampling: true }],
  [/^claude-(?:opus|sonnet)-4(?:-0|-\d{8})?$/, { structuredOutputs: false, thinking: 'budget', sampling: true }],
  // Opus 4.1 and the 4.5 family
  [/^claude-(?:opus-4-1|(?:opus|sonnet|haiku)-4-5)(?:-\d{8})?$/, { structuredOutputs: true, thinking: 'budget', sampling: true }],
  [/^claude-opus-4-6(?:-\d{8})?$/, { structuredOutputs: true, thinking: 'adaptive', sampling: true }],
]

/** Sonnet 4.6, Opus 4.7 and later, and names we do not know: assumed current. */
const CURRENT: ModelTraits = { structuredOutputs: true, thinking: 'adaptive', sampling: false }

export function modelTraits(model: string): ModelTraits {
  return GENERATIONS.find(([pattern]) => pattern.test(model))?.[1] ?? CURRENT
}

/**
 * Claude 3.7 and later take extended thinking (the translation of a reasoning setting); earlier
 * models answer `thinking` with a 400.
 */
export function takesThinking(model: string): boolean {
  return /^claude-(3-7|(opus|sonnet|haiku)-[4-9]|[a-z]+-[5-9])/.test(model)
}
