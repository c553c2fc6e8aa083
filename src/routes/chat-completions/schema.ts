// The request body of POST /v1/chat/completions as a JSON schema, compiled once by Fastify's ajv.
// It checks what the gateway itself relies on, so every malformed body is a 400 naming the
// field; fields it does not know pass through untouched to OpenAI-compatible upstreams.
// Every `if` requires the property it tests: without it, an absent `type`/`role` satisfies the
// `if` vacuously and the error blames the `then` (e.g. "missing image_url" for a part without type).

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] })

/** If `field` (a part's `type`, a message's `role`) has this value, `then` holds; the `if` requires the field (see above). */
const when = (field: string, value: string | string[], then: Record<string, unknown>) => ({
  if: { required: [field], properties: { [field]: Array.isArray(value) ? { enum: value } : { const: value } } },
  then,
})

/**
 * A JSON schema for a tool's arguments or a structured answer, as far as the gateway reads it:
 * the demo walks `properties` and `required`, the Anthropic translator spreads it into an
 * `input_schema`. A property's schema is an object or a boolean (JSON Schema's own rule); a
 * `null` there used to be a 500.
 */
const objectSchema = {
  type: 'object',
  properties: {
    properties: { type: 'object', additionalProperties: { anyOf: [{ type: 'object' }, { type: 'boolean' }] } },
    required: { type: 'array', items: { type: 'string' } },
  },
}

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string' },
    text: { type: 'string' },
    image_url: {
      type: 'object',
      required: ['url'],
      properties: { url: { type: 'string', minLength: 1 }, detail: { type: 'string' } },
    },
    refusal: { type: 'string' },
    file: {
      type: 'object',
      properties: { file_data: { type: 'string' }, file_id: { type: 'string' }, filename: { type: 'string' } },
    },
  },
  allOf: [
    when('type', 'text', { required: ['text'] }),
    when('type', 'image_url', { required: ['image_url'] }),
    when('type', 'refusal', { required: ['refusal'] }),
    when('type', 'file', { required: ['file'] }),
  ],
}

const toolCall = {
  type: 'object',
  required: ['id', 'type'],
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    function: {
      type: 'object',
      required: ['name', 'arguments'],
      properties: { name: { type: 'string' }, arguments: { type: 'string' } },
    },
  },
  allOf: [when('type', 'function', { required: ['function'] })],
}

// Only an assistant message may have no content; the translators read the others' as text.
// (The parts themselves are checked once, by `content` below.)
const stringOrParts = { anyOf: [{ type: 'string' }, { type: 'array' }] }

// (Every keyword with the type it applies to: ajv's strict mode logs a line at start-up otherwise.)
const assistantContent = {
  anyOf: [
    { type: 'string' },
    { type: 'null' },
    { type: 'array', items: { type: 'object', properties: { type: { enum: ['text', 'refusal'] } } } },
  ],
}

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
    content: { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'array', items: contentPart }] },
    name: { type: 'string' },
    tool_calls: { type: 'array', items: toolCall },
    tool_call_id: { type: 'string' },
  },
  allOf: [
    when('role', 'tool', { required: ['tool_call_id', 'content'], properties: { content: stringOrParts } }),
    when('role', ['system', 'developer', 'user'], { required: ['content'], properties: { content: stringOrParts } }),
    // OpenAI's rule; the Anthropic translator reads an assistant part's `text` or `refusal`.
    when('role', 'assistant', { properties: { content: assistantContent } }),
  ],
}

const tool = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string' },
    function: {
      type: 'object',
      required: ['name'],
      properties: {
        // OpenAI's own rule for function names.
        name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' },
        description: { type: 'string' },
        parameters: objectSchema,
        strict: nullable({ type: 'boolean' }),
      },
    },
  },
  allOf: [when('type', 'function', { required: ['function'] })],
}

export const chatCompletionBodySchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 256 },
    messages: { type: 'array', minItems: 1, items: message },
    stream: nullable({ type: 'boolean' }),
    stream_options: nullable({ type: 'object', properties: { include_usage: { type: 'boolean' } } }),
    temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
    top_p: nullable({ type: 'number', minimum: 0, maximum: 1 }),
    max_tokens: nullable({ type: 'integer', minimum: 1 }),
    max_completion_tokens: nullable({ type: 'integer', minimum: 1 }),
    n: nullable({ type: 'integer', minimum: 1, maximum: 1 }),
    stop: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }, { type: 'null' }] },
    seed: nullable({ type: 'integer' }),
    tools: { type: 'array', items: tool },
    tool_choice: {
      anyOf: [
        { enum: ['none', 'auto', 'required'] },
        {
          type: 'object',
          required: ['type'],
          properties: { type: { type: 'string' }, function: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
          allOf: [when('type', 'function', { required: ['function'] })],
        },
      ],
    },
    parallel_tool_calls: nullable({ type: 'boolean' }),
    response_format: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { enum: ['text', 'json_object', 'json_schema'] },
        json_schema: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' },
            description: { type: 'string' },
            schema: objectSchema,
            strict: nullable({ type: 'boolean' }),
          },
        },
      },
      allOf: [when('type', 'json_schema', { required: ['json_schema'] })],
    },
    reasoning_effort: nullable({ type: 'string' }),
    user: { type: 'string' },
    // OpenAI's successor to `user`; the Anthropic translator sends it as metadata.user_id.
    safety_identifier: { type: 'string' },
    metadata: nullable({ type: 'object' }),
  },
} as const
