// MCP servers as agent tools. Every server in the tools config is connected at start (in
// parallel) through @modelcontextprotocol/sdk, stdio or Streamable HTTP; its tools become
// AgentTools named `<server>__<tool>`. A call that fails, hangs or crashes its server becomes a
// ToolError for the model, never an exception for the run. A server that fails to start, whose
// process exits or whose connection is lost is marked unhealthy and started again in the
// background, with a wait that doubles up to a minute (DEFAULT_RESTART_POLICY); its health says
// why it is down and when it is tried next. A server that comes up only after the start brings
// its tools then. What the servers say (results, errors, stderr) is scrubbed of the secrets the
// tools config gave them before the model, the caller, a span or a log line sees it.
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import { ConfigError } from '../config.ts'
import { SecretScrubber } from '../scrub.ts'
import { ServerState } from './mcp/server-state.ts'
import type { ToolsConfig } from './tools-config.ts'
import { ToolError, type AgentTool, type ToolRunOptions } from './tools/types.ts'

export { renderContent } from './mcp/content.ts'
export { WEDGED_AFTER_TIMEOUTS } from './mcp/server-state.ts'

export interface McpLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface McpRestartPolicy {
  /** Wait before the first attempt after a failure; each further failure doubles it. */
  firstDelayMs: number
  /** The longest wait: a server that stays down is tried this often, forever. */
  maxDelayMs: number
  /** Up this long, a server that fails again starts over at firstDelayMs. */
  stableAfterMs: number
}

export interface McpServersOptions {
  logger: McpLogger
  /** Defaults to DEFAULT_RESTART_POLICY. */
  restart?: McpRestartPolicy
}

export interface McpServerHealth {
  server: string
  transport: 'stdio' | 'http'
  healthy: boolean
  /** Tools discovered at start. */
  tools: number
  /** Why it is unhealthy, and when it is tried again ("…; restarting in 4 s"). */
  error?: string
  /** Restart attempts so far (successful or not). */
  restarts: number
  /** The child process of a running stdio server. */
  pid?: number
}

export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/
export const DEFAULT_RESTART_POLICY: McpRestartPolicy = { firstDelayMs: 500, maxDelayMs: 60_000, stableAfterMs: 60_000 }

/** `<server>__<tool>`, with characters outside OpenAI's function name set replaced by `_`. */
export function mcpToolName(server: string, tool: string): string {
  return `${server}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_')
}

export class McpServers {
  readonly #servers: ServerState[]
  readonly #tools: AgentTool[] = []
  /** Tool name → what it was made from, for messages about names that collide. */
  readonly #owners = new Map<string, string>()

  private constructor(servers: ServerState[]) {
    this.#servers = servers
  }

  /**
   * Connects every configured server in parallel and lists its tools. A server that fails to
   * start is logged, reported unhealthy and retried in the background; its tools join once it is
   * up. Throws a ConfigError, after closing everything, when tool names collide or are over 64
   * characters (for a server that comes up later, those tools are left out and logged).
   */
  static async start(config: ToolsConfig, options: McpServersOptions): Promise<McpServers> {
    const { logger, restart = DEFAULT_RESTART_POLICY } = options
    const scrubber = new SecretScrubber(config.secrets)
    const scrubbed = scrubbingLogger(logger, scrubber)
    const servers = Object.entries(config.mcpServers).map(
      ([name, server]) => new ServerState(name, server, scrubbed, restart, scrubber),
    )
    const mcp = new McpServers(servers)
    const discovered = await Promise.all(servers.map((state) => state.start()))
    const problems = servers.flatMap((state, index) => mcp.#add(state, discovered[index] ?? []))
    if (problems.length > 0) {
      await mcp.close()
      throw new ConfigError(`GATEWAY_TOOLS_CONFIG (${config.path}): ${problems.join('; ')}`)
    }
    for (const state of servers) {
      state.onDiscovered = (tools) => {
        const late = mcp.#add(state, tools)
        if (late.length > 0) scrubbed.error({ mcpServer: state.name, problems: late }, `MCP server ${state.name}: some of its tools are left out`)
      }
    }
    return mcp
  }

  /** Adds a server's tools under their gateway names; returns what stopped any of them. */
  #add(state: ServerState, tools: Tool[]): string[] {
    const problems: string[] = []
    for (const tool of tools) {
      const name = mcpToolName(state.name, tool.name)
      const origin = `tool "${tool.name}" of MCP server "${state.name}"`
      if (!TOOL_NAME.test(name)) {
        problems.push(`${origin} would be named "${name}", ${name.length} characters; tool names are at most 64 (shorten the server name)`)
        continue
      }
      const owner = this.#owners.get(name)
      if (owner !== undefined) {
        problems.push(`${origin} and ${owner} would both be named "${name}"`)
        continue
      }
      this.#owners.set(name, origin)
      this.#tools.push(mcpTool(state, tool, name))
    }
    return problems
  }

  /** One AgentTool per tool discovered, in config order (a server that came up late: at the end). */
  tools(): AgentTool[] {
    return [...this.#tools]
  }

  health(): McpServerHealth[] {
    return this.#servers.map((state) => {
      const entry: McpServerHealth = {
        server: state.name,
        transport: state.kind,
        healthy: state.healthy,
        tools: state.toolNames.length,
        restarts: state.restarts,
      }
      const error = state.describe()
      if (error !== undefined) entry.error = error
      if (state.conn?.pid !== undefined) entry.pid = state.conn.pid
      return entry
    })
  }

  /** Closes every connection (stdio children get their stdin closed, then SIGTERM, SIGKILL). */
  async close(): Promise<void> {
    await Promise.all(this.#servers.map((state) => state.close()))
  }
}

/** A logger that scrubs every string it is given, for lines that may quote a server's secrets. */
function scrubbingLogger(logger: McpLogger, scrubber: SecretScrubber): McpLogger {
  const clean = (value: unknown): unknown =>
    typeof value === 'string' ? scrubber.scrub(value) : Array.isArray(value) ? value.map(clean) : value
  const cleanObject = (obj: object) => Object.fromEntries(Object.entries(obj).map(([key, value]) => [key, clean(value)]))
  const at = (level: keyof McpLogger) => (obj: object, msg?: string) =>
    msg === undefined ? logger[level](cleanObject(obj)) : logger[level](cleanObject(obj), scrubber.scrub(msg))
  return { info: at('info'), warn: at('warn'), error: at('error') }
}

function mcpTool(state: ServerState, tool: Tool, name: string): AgentTool {
  return {
    name,
    description: tool.description ?? tool.title ?? '',
    parameters: tool.inputSchema as Record<string, unknown>,
    source: `mcp:${state.name}`,
    // The server's words reach the model, the caller and the spans: scrubbed of its secrets.
    run: async (args: Record<string, unknown>, options: ToolRunOptions) => {
      try {
        return state.scrubber.scrub(await state.call(tool.name, name, args, options.signal))
      } catch (error) {
        throw error instanceof ToolError ? new ToolError(state.scrubber.scrub(error.message)) : error
      }
    },
  }
}
