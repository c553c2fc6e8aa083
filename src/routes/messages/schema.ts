// The request bodies of POST /v1/messages and /v1/messages/count_tokens as JSON schemas. They check
// what the gateway reads (routing, telemetry, the translators) so a malformed body is a 400 naming
// the field, in Anthropic's error shape; block and tool types stay open (Anthropic adds new ones
// often, and to Anthropic they pass through). `role: "system"` inside `messages` is accepted:
// Claude Code sends one.

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] })

const block = { type: 'object', required: ['type'], properties: { type: { type: 'string' } } }

const message = {
  type: 'object',
  required: ['role', 'content'],
  properties: {
    role: { enum: ['user', 'assistant', 'system'] },
    content: { anyOf: [{ type: 'string' }, { type: 'array', items: block }] },
  },
}

const conversation = {
  model: { type: 'string', minLength: 1, maxLength: 256 },
  messages: { type: 'array', minItems: 1, items: message },
  system: { anyOf: [{ type: 'string' }, { type: 'array', items: block }] },
  tools: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, type: { type: 'string' } } } },
  tool_choice: { type: 'object', required: ['type'], properties: { type: { enum: ['auto', 'any', 'tool', 'none'] }, name: { type: 'string' } } },
  thinking: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, budget_tokens: { type: 'integer', minimum: 0 } } },
} as const

export const messagesBodySchema = {
  type: 'object',
  required: ['model', 'messages', 'max_tokens'],
  properties: {
    ...conversation,
    max_tokens: { type: 'integer', minimum: 1 },
    stream: nullable({ type: 'boolean' }),
    temperature: nullable({ type: 'number', minimum: 0, maximum: 1 }),
    top_p: nullable({ type: 'number', minimum: 0, maximum: 1 }),
    top_k: nullable({ type: 'integer', minimum: 0 }),
    stop_sequences: { type: 'array', items: { type: 'string' } },
    metadata: { type: 'object', properties: { user_id: nullable({ type: 'string' }) } },
  },
} as const

export const countTokensBodySchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: conversation,
} as const
