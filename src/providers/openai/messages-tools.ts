// Anthropic tools and tool_choice → chat tools. A custom tool (`{name, description,
// input_schema}`, `type` absent or `custom`) is a chat function tool. Server tools (`type` with a
// version: `web_search_20250305`, `bash_20250124`, `text_editor_…`, `code_execution_…`,
// `computer_…`, `memory_…`, …) run on Anthropic's side or need its client contract: they are left
// out and named in `omitted` (`tools.web_search_20250305`), never a 400, so that a client that
// always sends them still works. `defer_loading` is ignored (the tool is offered like any other:
// a chat server has no tool search to find it later); `cache_control`, `input_examples`,
// `allowed_callers` and `eager_input_streaming` have no chat equivalent and are dropped.
import { invalidRequest } from '../../errors.ts'
import { isObject } from './responses-tools.ts'

type Json = Record<string, unknown>

export interface MessagesToolPlan {
  tools: Json[]
  /** Names of the server tools left out: a tool_choice naming one is left out too. */
  serverTools: Set<string>
}

export function toolPlan(list: unknown, omitted: Set<string>): MessagesToolPlan {
  const plan: MessagesToolPlan = { tools: [], serverTools: new Set() }
  if (list == null) return plan
  if (!Array.isArray(list)) throw invalidRequest('tools must be an array.', 'tools')
  list.forEach((tool: unknown, k) => {
    const at = `tools[${k}]`
    if (!isObject(tool)) throw invalidRequest('Each tool must be an object.', at)
    if (typeof tool.name !== 'string' || tool.name === '') throw invalidRequest('A tool needs a name.', `${at}.name`)
    if (tool.type != null && tool.type !== 'custom') {
      omitted.add(`tools.${String(tool.type)}`)
      plan.serverTools.add(tool.name)
      return
    }
    const fn: Json = { name: tool.name }
    if (typeof tool.description === 'string') fn.description = tool.description
    if (isObject(tool.input_schema)) fn.parameters = tool.input_schema
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict
    plan.tools.push({ type: 'function', function: fn })
  })
  return plan
}

/**
 * `tool_choice` and `disable_parallel_tool_use` in chat's words (`any` is `required`). A choice
 * naming a server tool that was left out is left out too; one naming no tool at all is the
 * caller's mistake, as Anthropic would say.
 */
export function toolChoice(choice: unknown, plan: MessagesToolPlan, omitted: Set<string>): Json {
  if (choice == null) return {}
  if (!isObject(choice)) throw invalidRequest('tool_choice must be an object.', 'tool_choice')
  const chat: Json = {}
  switch (choice.type) {
    case 'auto':
    case 'none':
      chat.tool_choice = choice.type
      break
    case 'any':
      chat.tool_choice = 'required'
      break
    case 'tool': {
      if (typeof choice.name !== 'string') throw invalidRequest('name must be a string.', 'tool_choice.name')
      const offered = plan.tools.some((tool) => (tool.function as Json).name === choice.name)
      if (offered) chat.tool_choice = { type: 'function', function: { name: choice.name } }
      else if (plan.serverTools.has(choice.name)) omitted.add('tool_choice.tool')
      else throw invalidRequest(`tool_choice names '${choice.name}', which is not among the tools.`, 'tool_choice.name')
      break
    }
    default:
      throw invalidRequest(`Unknown tool_choice type '${String(choice.type)}'.`, 'tool_choice.type')
  }
  if (choice.disable_parallel_tool_use === true && choice.type !== 'none') chat.parallel_tool_calls = false
  return chat
}
