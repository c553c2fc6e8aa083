// OpenAI Chat Completions request → Anthropic Messages request. Pure: no network, no telemetry.
// The conversation itself is translated in translate-messages.ts; this file maps the request's
// knobs (limits, sampling, tools, response_format, reasoning) and says what Anthropic lacks.
//
// Dropped silently, as they have no Anthropic equivalent: seed, metadata (OpenAI's stored-
// completion tags), logprobs, top_logprobs, logit_bias, frequency_penalty, presence_penalty,
// service_tier, store, stream_options, modalities, audio, prediction, prompt_cache_key,
// prompt_cache_retention, verbosity, web_search_options, function-tool `strict`, message `name`.
// `stream` is the adapter's business.
import type {
  JSONOutputFormat,
  MessageCreateParamsNonStreaming,
  OutputConfig,
  TextBlockParam,
  Tool,
  ToolChoice,
} from '@anthropic-ai/sdk/resources/messages'
import { transformJSONSchema } from '@anthropic-ai/sdk/lib/transform-json-schema'
import type { ChatCompletionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions'
import type { ChatRequest } from '../../core/types.ts'
import { invalidRequest } from '../../errors.ts'
import { type ModelTraits, modelTraits } from './model-traits.ts'
import { toAnthropicMessages } from './translate-messages.ts'

/** Anthropic requires `max_tokens`; OpenAI callers rarely send one. */
export const DEFAULT_MAX_TOKENS = 4096

/** The tool that carries a JSON answer when `response_format` is enforced through tool use. */
export const JSON_RESPONSE_TOOL = 'json_response'

/**
 * `reasoning_effort` → thinking. `budget` is the token budget on models that take one (minimum
 * 1024); `high` stays small enough that budget + default answer room (20480) keeps a
 * non-streaming call under the Anthropic SDK's ~21k max_tokens limit for unstreamed requests, so
 * `xhigh`/`max` get the same budget. Adaptive models get the effort level instead. Either way
 * `budget` is also the room kept for thinking in max_tokens.
 */
export const REASONING_EFFORTS = {
  minimal: { budget: 1024, adaptive: 'low' },
  low: { budget: 2048, adaptive: 'low' },
  medium: { budget: 8192, adaptive: 'medium' },
  high: { budget: 16384, adaptive: 'high' },
  xhigh: { budget: 16384, adaptive: 'xhigh' },
  max: { budget: 16384, adaptive: 'max' },
} as const satisfies Record<string, { budget: number; adaptive: NonNullable<OutputConfig['effort']> }>

/**
 * The SDK's types no longer carry temperature and top_p (current models reject them), but older
 * models still take them and the SDK sends the body as given.
 */
export type AnthropicMessageParams = MessageCreateParamsNonStreaming & { temperature?: number; top_p?: number }

export interface AnthropicRequestOptions {
  defaultMaxTokens?: number
  /** Overrides what model-traits.ts infers from the model name (aliases, custom deployments). */
  traits?: Partial<ModelTraits>
}

export interface AnthropicRequest {
  params: AnthropicMessageParams
  /** Set when the answer may arrive as a tool_use of this name; the response side makes it the message content. */
  forcedJsonTool?: string
}

const TOOL_CHOICES = {
  auto: { type: 'auto' },
  none: { type: 'none' },
  required: { type: 'any' },
} as const satisfies Record<string, ToolChoice>

const JSON_OBJECT_INSTRUCTION =
  'Respond with a single valid JSON object and nothing else: no prose, no Markdown code fences.'

export function toAnthropicRequest(
  request: ChatRequest,
  model: string,
  options: AnthropicRequestOptions = {},
): AnthropicRequest {
  if (request.n != null && request.n !== 1) {
    throw invalidRequest('Anthropic models return one choice; n must be 1.', 'n')
  }
  const traits = { ...modelTraits(model), ...options.traits }
  const { system, messages } = toAnthropicMessages(request.messages)
  const params: AnthropicMessageParams = {
    model,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
    messages,
  }

  const thinking = applyReasoning(params, request.reasoning_effort, traits)
  // Anthropic rejects temperature and top_p with thinking on, and current models reject them
  // outright: they are dropped rather than failing the call.
  if (!thinking && traits.sampling) {
    if (request.temperature != null) params.temperature = request.temperature
    if (request.top_p != null) params.top_p = request.top_p
  }

  if (request.stop != null) {
    params.stop_sequences = typeof request.stop === 'string' ? [request.stop] : request.stop
  }

  // `safety_identifier` is OpenAI's successor to `user`; Anthropic's user_id serves the same abuse-tracking purpose.
  const userId = request.user ?? request.safety_identifier
  if (userId) params.metadata = { user_id: userId }

  const tools = toolsFor(request, system, params, thinking, traits.structuredOutputs)
  if (system.length > 0) params.system = system
  if (tools.tools.length > 0) {
    params.tools = tools.tools
    if (tools.choice) params.tool_choice = tools.choice
  }
  return tools.jsonTool ? { params, forcedJsonTool: tools.jsonTool } : { params }
}

/** Turns thinking on for a reasoning_effort; says whether it did. */
function applyReasoning(
  params: AnthropicMessageParams,
  effort: ChatRequest['reasoning_effort'],
  traits: ModelTraits,
): boolean {
  if (effort == null || effort === 'none') return false
  if (!Object.hasOwn(REASONING_EFFORTS, effort)) {
    const known = Object.keys(REASONING_EFFORTS).join(', ')
    throw invalidRequest(`reasoning_effort must be one of none, ${known}.`, 'reasoning_effort')
  }
  const { budget, adaptive } = REASONING_EFFORTS[effort]
  if (traits.thinking === 'budget') {
    params.thinking = { type: 'enabled', budget_tokens: budget }
  } else {
    // Some current models omit the thinking text by default; callers asking for reasoning
    // expect `reasoning_content`, and the summary costs nothing extra.
    params.thinking = { type: 'adaptive', display: 'summarized' }
    params.output_config = { ...params.output_config, effort: adaptive }
  }
  // Thinking tokens count against max_tokens (which must exceed a budget): the caller's limit is
  // kept as room for the answer on top of the thinking.
  if (params.max_tokens <= budget) params.max_tokens += budget
  return true
}

interface ToolPlan {
  tools: Tool[]
  choice: ToolChoice | undefined
  jsonTool: string | undefined
}

/**
 * Tools, tool_choice and response_format together, since enforcing JSON through a tool changes
 * both. Adds to `system` (instructions) and `params` (`output_config`) as needed.
 */
function toolsFor(
  request: ChatRequest,
  system: TextBlockParam[],
  params: AnthropicMessageParams,
  thinking: boolean,
  structuredOutputs: boolean,
): ToolPlan {
  let tools = (request.tools ?? []).map(toAnthropicTool)
  let choice = toolChoiceFor(request.tool_choice, request.parallel_tool_calls)
  const format = request.response_format

  let jsonSchema: Tool.InputSchema | undefined
  if (format?.type === 'json_object') {
    system.push({ type: 'text', text: JSON_OBJECT_INSTRUCTION })
    // Structured outputs only accept closed schemas, so "any object" is only enforceable as a tool.
    jsonSchema = { type: 'object' }
  } else if (format?.type === 'json_schema') {
    const schema = format.json_schema.schema
    if (!schema) throw invalidRequest('json_schema.schema is required.', 'response_format.json_schema.schema')
    if (structuredOutputs) {
      params.output_config = { ...params.output_config, format: nativeFormat(schema) }
      return { tools, choice, jsonTool: undefined }
    }
    jsonSchema = { type: 'object', ...schema }
  }
  if (!jsonSchema) return { tools, choice, jsonTool: undefined }

  // `none` forbids the caller's tools, not the answer: drop them so the JSON tool can be forced.
  if (choice?.type === 'none') {
    tools = []
    choice = undefined
  }
  const description = format?.type === 'json_schema' ? format.json_schema.description : undefined
  const jsonTool: Tool = {
    name: JSON_RESPONSE_TOOL,
    description: description ?? 'Give your final answer by calling this tool with it as the input.',
    input_schema: jsonSchema,
  }
  // Forcing a tool is refused with thinking enabled, and would stop the model from using the
  // caller's tools; in those cases the model is asked instead.
  if (tools.length === 0 && !thinking) {
    choice = { type: 'tool', name: JSON_RESPONSE_TOOL }
  } else {
    system.push({ type: 'text', text: `Give your final answer by calling the ${JSON_RESPONSE_TOOL} tool.` })
  }
  return { tools: [...tools, jsonTool], choice, jsonTool: JSON_RESPONSE_TOOL }
}

// The SDK's own schema conversion (what its `jsonSchemaOutputFormat` helper applies): closes
// objects with additionalProperties: false and moves unsupported constraints into descriptions.
function nativeFormat(schema: Record<string, unknown>): JSONOutputFormat {
  try {
    return { type: 'json_schema', schema: transformJSONSchema(schema) }
  } catch (error) {
    throw invalidRequest(`Unsupported JSON schema: ${(error as Error).message}`, 'response_format.json_schema.schema')
  }
}

function toAnthropicTool(tool: ChatCompletionTool, k: number): Tool {
  if (tool.type !== 'function') {
    throw invalidRequest(`Tools of type '${tool.type}' are not supported for Anthropic models.`, `tools[${k}].type`)
  }
  const { name, description, parameters } = tool.function
  // Anthropic requires an input schema; OpenAI allows a function without parameters.
  const inputSchema: Tool.InputSchema = parameters
    ? { type: 'object', ...parameters }
    : { type: 'object', properties: {} }
  return description === undefined
    ? { name, input_schema: inputSchema }
    : { name, description, input_schema: inputSchema }
}

function toolChoiceFor(
  choice: ChatCompletionToolChoiceOption | undefined,
  parallelToolCalls: boolean | undefined,
): ToolChoice | undefined {
  let mapped: ToolChoice | undefined
  if (choice === undefined) {
    mapped = undefined
  } else if (typeof choice === 'string') {
    if (!Object.hasOwn(TOOL_CHOICES, choice)) throw invalidRequest(`Unknown tool_choice '${choice}'.`, 'tool_choice')
    mapped = { ...TOOL_CHOICES[choice] }
  } else if (choice.type === 'function') {
    mapped = { type: 'tool', name: choice.function.name }
  } else {
    throw invalidRequest(`tool_choice of type '${choice.type}' is not supported for Anthropic models.`, 'tool_choice')
  }
  if (parallelToolCalls === false && mapped?.type !== 'none') {
    mapped = { ...(mapped ?? { type: 'auto' }), disable_parallel_tool_use: true }
  }
  return mapped
}
