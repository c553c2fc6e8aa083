// The tools an agent run may use: the built-ins and every tool the MCP servers offered at start.
// It picks the tools a request names (an unknown name is the caller's 400), shows them to the
// model in OpenAI's function format, and runs one call under the per-tool timeout.
import type { ChatCompletionTool } from 'openai/resources/chat/completions'
import { invalidRequest } from '../errors.ts'
import type { AgentTool } from './tools/types.ts'

export interface ToolSource {
  tools(): AgentTool[]
}

export interface ToolOutcome {
  /** Text for the model: the result, or `Error: …`. */
  content: string
  result: string | null
  error: string | null
  durationMs: number
}

export class Toolbox {
  private readonly sources: ToolSource[]
  private readonly timeoutMs: number

  constructor(sources: ToolSource[], timeoutMs: number) {
    this.sources = sources
    this.timeoutMs = timeoutMs
  }

  all(): AgentTool[] {
    return this.sources.flatMap((s) => s.tools())
  }

  /** The tools a request may use: all by default, else exactly those named. */
  select(names: string[] | undefined): AgentTool[] {
    const all = this.all()
    if (names === undefined) return all
    const byName = new Map(all.map((tool) => [tool.name, tool]))
    const unknown = names.filter((name) => !byName.has(name))
    if (unknown.length) {
      throw invalidRequest(
        `Unknown tool${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `\`${n}\``).join(', ')}. ` +
          `Available: ${[...byName.keys()].join(', ') || 'none'} (GET /v1/agents/tools).`,
        'tools',
      )
    }
    return names.map((name) => byName.get(name)!)
  }

  static asOpenAITools(tools: AgentTool[]): ChatCompletionTool[] {
    return tools.map((tool) => {
      // MCP servers built with the SDK add `$schema`; function parameters are a bare schema.
      const { $schema: _ignored, ...parameters } = tool.parameters
      return { type: 'function', function: { name: tool.name, description: tool.description, parameters } }
    })
  }

  /**
   * Runs one call. Never throws: bad JSON arguments, a failing tool, a timeout and a caller who
   * left all become an error outcome the model (or the caller) can read.
   */
  async run(tool: AgentTool, rawArguments: string, callerSignal: AbortSignal): Promise<ToolOutcome> {
    const started = performance.now()
    const outcome = (result: string | null, error: string | null): ToolOutcome => ({
      content: error === null ? (result ?? '') : `Error: ${error}`,
      result,
      error,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    })
    let args: Record<string, unknown>
    try {
      const parsed: unknown = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
      args = parsed as Record<string, unknown>
    } catch {
      return outcome(null, `the arguments for ${tool.name} are not a JSON object: ${rawArguments.slice(0, 200)}`)
    }
    const expiry = new AbortController()
    const signal = AbortSignal.any([callerSignal, expiry.signal])
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expiry.abort()
        reject(new Error(`${tool.name} timed out after ${this.timeoutMs} ms`))
      }, this.timeoutMs)
    })
    try {
      // The race guards against a tool that ignores its signal.
      return outcome(await Promise.race([tool.run(args, { signal }), timedOut]), null)
    } catch (error) {
      return outcome(null, error instanceof Error ? error.message : String(error))
    } finally {
      clearTimeout(timer)
    }
  }
}
