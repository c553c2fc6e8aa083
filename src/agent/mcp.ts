// MCP servers as agent tools. Every server in the tools config is connected at start (in
// parallel) through @modelcontextprotocol/sdk, stdio or Streamable HTTP; its tools become
// AgentTools named `<server>__<tool>`. A call that fails, hangs or crashes its server becomes a
// ToolError for the model, never an exception for the run. A server whose process exits (or
// whose connection is lost) is marked unhealthy and restarted in the background with backoff,
// at most 3 times a minute (DEFAULT_RESTART_POLICY); past that it stays unhealthy and says why.
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import { ConfigError } from '../config.ts'
import { errorMessage, ServerState } from './mcp/server-state.ts'
import type { ToolsConfig } from './tools-config.ts'
import type { AgentTool, ToolRunOptions } from './tools/types.ts'

export { renderContent } from './mcp/content.ts'
export { WEDGED_AFTER_TIMEOUTS } from './mcp/server-state.ts'

export interface McpLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface McpRestartPolicy {
  /** Restarts allowed in any minute; past that a server stays down. */
  maxPerMinute: number
  /** Delay before the 1st, 2nd, … restart within that minute (the last one repeats). */
  backoffMs: readonly number[]
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
  /** Why it is unhealthy. */
  error?: string
  /** Restart attempts so far (successful or not). */
  restarts: number
  /** The child process of a running stdio server. */
  pid?: number
}

export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/
export const DEFAULT_RESTART_POLICY: McpRestartPolicy = { maxPerMinute: 3, backoffMs: [100, 1_000, 5_000] }

/** `<server>__<tool>`, with characters outside OpenAI's function name set replaced by `_`. */
export function mcpToolName(server: string, tool: string): string {
  return `${server}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_')
}

export class McpServers {
  readonly #servers: ServerState[]
  readonly #tools: AgentTool[]

  private constructor(servers: ServerState[], tools: AgentTool[]) {
    this.#servers = servers
    this.#tools = tools
  }

  /**
   * Connects every configured server in parallel and lists its tools. A server that fails to
   * start is logged and reported unhealthy (it is not retried: its tools are unknown). Throws a
   * ConfigError, after closing everything, when tool names collide or are over 64 characters.
   */
  static async start(config: ToolsConfig, options: McpServersOptions): Promise<McpServers> {
    const { logger, restart = DEFAULT_RESTART_POLICY } = options
    const servers = Object.entries(config.mcpServers).map(([name, server]) => new ServerState(name, server, logger, restart))
    const discovered = await Promise.all(
      servers.map(async (state) => {
        const started = Date.now()
        try {
          const { conn, tools } = await state.connect()
          state.conn = conn
          state.healthy = true
          state.toolNames = tools.map((tool) => tool.name)
          logger.info(
            { mcpServer: state.name, transport: state.kind, tools: state.toolNames, pid: conn.pid, ms: Date.now() - started },
            `MCP server ${state.name} connected`,
          )
          return tools
        } catch (error) {
          state.error = `failed to start: ${errorMessage(error)}`
          logger.error(
            { mcpServer: state.name, transport: state.kind, reason: state.error + state.stderrNote },
            `MCP server ${state.name} failed to start`,
          )
          return []
        }
      }),
    )

    const tools: AgentTool[] = []
    const owners = new Map<string, string>()
    const problems: string[] = []
    servers.forEach((state, index) => {
      for (const tool of discovered[index] ?? []) {
        const name = mcpToolName(state.name, tool.name)
        const origin = `tool "${tool.name}" of MCP server "${state.name}"`
        if (!TOOL_NAME.test(name)) {
          problems.push(`${origin} would be named "${name}", ${name.length} characters; tool names are at most 64 (shorten the server name)`)
          continue
        }
        const owner = owners.get(name)
        if (owner !== undefined) {
          problems.push(`${origin} and ${owner} would both be named "${name}"`)
          continue
        }
        owners.set(name, origin)
        tools.push(mcpTool(state, tool, name))
      }
    })
    const servers_ = new McpServers(servers, tools)
    if (problems.length > 0) {
      await servers_.close()
      throw new ConfigError(`GATEWAY_TOOLS_CONFIG (${config.path}): ${problems.join('; ')}`)
    }
    return servers_
  }

  /** One AgentTool per tool discovered at start, in config order. */
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
      if (!state.healthy && state.error !== undefined) entry.error = state.error + state.stderrNote
      if (state.conn?.pid !== undefined) entry.pid = state.conn.pid
      return entry
    })
  }

  /** Closes every connection (stdio children get their stdin closed, then SIGTERM, SIGKILL). */
  async close(): Promise<void> {
    await Promise.all(this.#servers.map((state) => state.close()))
  }
}

function mcpTool(state: ServerState, tool: Tool, name: string): AgentTool {
  return {
    name,
    description: tool.description ?? tool.title ?? '',
    parameters: tool.inputSchema as Record<string, unknown>,
    source: `mcp:${state.name}`,
    run: (args: Record<string, unknown>, options: ToolRunOptions) => state.call(tool.name, name, args, options.signal),
  }
}
