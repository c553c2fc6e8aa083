// Responses tools → chat tools, for upstreams that speak only Chat Completions. What has an
// equivalent is mapped: function tools (flat in Responses, nested under `function` in chat), a
// `custom` (freeform, often grammar-bound) tool as a function taking one string, and a
// `namespace`'s function and custom tools as top-level functions (Codex's default model sends
// every tool inside one namespace: leaving namespaces out would leave it without tools). Hosted
// tools (web_search, file_search, tool_search, mcp, …) cannot run on a chat-only server: they
// are left out and named in `omitted` (`tools.web_search`), never a 400, so that a client that
// always sends them (Codex) still works.
//
// The plan is a pure function of the caller's body: the response side rebuilds it to turn a chat
// tool call back into a `function_call` or a `custom_tool_call` with its namespace.
import { invalidRequest } from '../../errors.ts'

type Json = Record<string, unknown>

/** What a chat function name stands for on the Responses side. */
export interface ToolName {
  name: string
  namespace?: string | undefined
  /** A `custom` tool: its chat arguments are `{"input": "…"}`. */
  custom: boolean
}

export interface ToolPlan {
  tools: Json[]
  /** Chat function name → the Responses tool it stands for. */
  byChatName: Map<string, ToolName>
  /** The chat name of a Responses tool (`namespace` undefined for top-level tools). */
  chatName(name: string, namespace?: string): string
}

/** The one parameter a custom tool becomes as a chat function. */
export const CUSTOM_TOOL_PARAMETERS = {
  type: 'object',
  properties: { input: { type: 'string' } },
  required: ['input'],
} as const

interface Declared {
  tool: Json
  namespace: string | undefined
  param: string
}

/** The caller's tools (`tools` and Codex's `additional_tools` input items), mapped for chat. */
export function toolPlan(body: Json, omitted?: Set<string>): ToolPlan {
  const declared: Declared[] = []
  const collect = (list: unknown, param: string) => {
    if (list == null) return
    if (!Array.isArray(list)) throw invalidRequest('tools must be an array.', param)
    list.forEach((tool: unknown, k) => {
      const at = `${param}[${k}]`
      if (!isObject(tool)) throw invalidRequest('Each tool must be an object.', at)
      if (tool.type === 'namespace') {
        const inner = tool.tools
        if (!Array.isArray(inner)) throw invalidRequest('A namespace must hold a tools array.', `${at}.tools`)
        inner.forEach((member: unknown, m) => {
          if (!isObject(member)) throw invalidRequest('Each tool must be an object.', `${at}.tools[${m}]`)
          declared.push({ tool: member, namespace: String(tool.name ?? ''), param: `${at}.tools[${m}]` })
        })
      } else {
        declared.push({ tool, namespace: undefined, param: at })
      }
    })
  }
  collect(body.tools, 'tools')
  if (Array.isArray(body.input)) {
    body.input.forEach((item: unknown, i) => {
      if (isObject(item) && item.type === 'additional_tools') collect(item.tools, `input[${i}].tools`)
    })
  }

  const runnable = declared.filter(({ tool }) => {
    if (tool.type === 'function' || tool.type === 'custom') return true
    omitted?.add(`tools.${String(tool.type)}`)
    return false
  })
  // A tool keeps its own name unless two tools share it (a namespace's `search` beside a
  // top-level `search`): then the namespaced one is `namespace__name`, as chat names allow
  // neither dots nor duplicates.
  const counts = new Map<string, number>()
  for (const { tool } of runnable) counts.set(String(tool.name), (counts.get(String(tool.name)) ?? 0) + 1)
  const qualify = (name: string, namespace: string | undefined) =>
    namespace !== undefined && (counts.get(name) ?? 0) > 1 ? `${namespace}__${name}` : name

  const tools: Json[] = []
  const byChatName = new Map<string, ToolName>()
  for (const { tool, namespace, param } of runnable) {
    if (typeof tool.name !== 'string' || tool.name === '') throw invalidRequest('A tool needs a name.', `${param}.name`)
    const name = qualify(tool.name, namespace)
    const custom = tool.type === 'custom'
    tools.push({ type: 'function', function: custom ? customFunction(name, tool) : plainFunction(name, tool) })
    byChatName.set(name, { name: tool.name, namespace, custom })
  }
  return { tools, byChatName, chatName: (name, namespace) => qualify(name, namespace) }
}

function plainFunction(name: string, tool: Json): Json {
  const fn: Json = { name }
  if (typeof tool.description === 'string') fn.description = tool.description
  if (isObject(tool.parameters)) fn.parameters = tool.parameters
  // Responses defaults `strict` to true; a chat server holds a strict schema to rules many
  // schemas break, so it is only sent when the caller set it.
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict
  return fn
}

/** A freeform tool as a function of one string; its grammar, if any, goes into the description. */
function customFunction(name: string, tool: Json): Json {
  const parts: string[] = []
  if (typeof tool.description === 'string' && tool.description !== '') parts.push(tool.description)
  const format = isObject(tool.format) ? tool.format : undefined
  if (format?.type === 'grammar' && typeof format.definition === 'string') {
    parts.push(`The input must follow this ${String(format.syntax ?? '')} grammar:\n${format.definition}`)
  }
  parts.push('Pass the whole input as the `input` string.')
  return { name, description: parts.join('\n\n'), parameters: CUSTOM_TOOL_PARAMETERS }
}

/**
 * `tool_choice` for the mapped tools. A choice naming a tool that was left out (a hosted tool)
 * is dropped and recorded; `allowed_tools` keeps its mode (chat servers rarely know the list form).
 */
export function toolChoice(choice: unknown, plan: ToolPlan, omitted: Set<string>): unknown {
  if (choice == null) return undefined
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice
  if (!isObject(choice)) throw invalidRequest(`Unknown tool_choice '${String(choice)}'.`, 'tool_choice')
  if ((choice.type === 'function' || choice.type === 'custom') && typeof choice.name === 'string') {
    const name = plan.chatName(choice.name, typeof choice.namespace === 'string' ? choice.namespace : undefined)
    if (plan.byChatName.has(name)) return { type: 'function', function: { name } }
    throw invalidRequest(`tool_choice names '${choice.name}', which is not among the tools.`, 'tool_choice.name')
  }
  omitted.add(`tool_choice.${String(choice.type)}`)
  if (choice.type === 'allowed_tools' && (choice.mode === 'auto' || choice.mode === 'required')) return choice.mode
  return undefined
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
