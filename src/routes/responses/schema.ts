// The request body of POST /v1/responses as a JSON schema, compiled once by Fastify's ajv. It
// checks what the gateway reads (routing, telemetry, the translators), so a malformed body is a
// 400 naming the field; everything else passes through to OpenAI untouched. Item and tool types
// are open: OpenAI adds new ones often, and to OpenAI they pass through.

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] })

const when = (field: string, value: string, then: Record<string, unknown>) => ({
  if: { required: [field], properties: { [field]: { const: value } } },
  then,
})

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string' },
    text: { type: 'string' },
    image_url: { type: 'string' },
  },
  allOf: [when('type', 'input_text', { required: ['text'] }), when('type', 'output_text', { required: ['text'] })],
}

/** An input item: a message (with or without `type: message`), a tool call or its output, reasoning … */
const inputItem = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    role: { enum: ['user', 'assistant', 'system', 'developer'] },
    content: { anyOf: [{ type: 'string' }, { type: 'array', items: contentPart }] },
    call_id: { type: 'string' },
    name: { type: 'string' },
    arguments: { type: 'string' },
    output: {},
  },
  allOf: [
    when('type', 'message', { required: ['role', 'content'] }),
    when('type', 'function_call', { required: ['call_id', 'name', 'arguments'] }),
    when('type', 'function_call_output', { required: ['call_id', 'output'] }),
    when('type', 'item_reference', { required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } }),
    // An item without a type is a message (EasyInputMessage).
    { if: { not: { required: ['type'] } }, then: { required: ['role', 'content'] } },
  ],
}

const tool = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string' },
    name: { type: 'string', minLength: 1, maxLength: 128 },
    parameters: nullable({ type: 'object' }),
  },
  allOf: [when('type', 'function', { required: ['name'] }), when('type', 'custom', { required: ['name'] })],
}

export const responsesBodySchema = {
  type: 'object',
  required: ['model'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 256 },
    input: { anyOf: [{ type: 'string' }, { type: 'array', items: inputItem }] },
    instructions: nullable({ type: 'string' }),
    tools: { type: 'array', items: tool },
    tool_choice: {
      anyOf: [
        { enum: ['none', 'auto', 'required'] },
        { type: 'object', required: ['type'], properties: { type: { type: 'string' }, name: { type: 'string' } } },
      ],
    },
    parallel_tool_calls: nullable({ type: 'boolean' }),
    stream: nullable({ type: 'boolean' }),
    store: nullable({ type: 'boolean' }),
    previous_response_id: nullable({ type: 'string', minLength: 1, maxLength: 256 }),
    max_output_tokens: nullable({ type: 'integer', minimum: 1 }),
    temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
    top_p: nullable({ type: 'number', minimum: 0, maximum: 1 }),
    metadata: nullable({ type: 'object', additionalProperties: { type: 'string' } }),
    include: nullable({ type: 'array', items: { type: 'string' } }),
    reasoning: nullable({ type: 'object', properties: { effort: nullable({ type: 'string' }), summary: nullable({ type: 'string' }) } }),
    text: nullable({
      type: 'object',
      properties: {
        format: {
          type: 'object',
          required: ['type'],
          properties: { type: { enum: ['text', 'json_object', 'json_schema'] }, name: { type: 'string' }, schema: { type: 'object' } },
          allOf: [when('type', 'json_schema', { required: ['name', 'schema'] })],
        },
        verbosity: nullable({ type: 'string' }),
      },
    }),
  },
} as const
