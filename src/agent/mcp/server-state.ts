// One MCP server as the gateway holds it: its connection (stdio child or Streamable HTTP), the
// calls made through it, and what happens when it dies or cannot start: in-flight calls fail as
// ToolErrors, the server is marked unhealthy and started again and again, each wait twice the
// last (from the policy's first delay up to its cap) until it stays up for a while.
import { StringDecoder } from 'node:string_decoder'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js'
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js'
import type { SecretScrubber } from '../../scrub.ts'
import { traceFetches } from '../../telemetry/client-span.ts'
import type { McpLogger, McpRestartPolicy } from '../mcp.ts'
import type { McpServerConfig } from '../tools-config.ts'
import { ToolError } from '../tools/types.ts'
import { renderContent } from './content.ts'
import { inheritedNetworkEnv, TrackedStdioTransport } from './stdio.ts'

/** Calls in a row that time out before a server is taken as wedged and restarted. */
export const WEDGED_AFTER_TIMEOUTS = 3
const STDERR_LINES = 5
const MAX_PAGES = 1_000
const CLIENT_INFO = { name: 'sik-llms-gateway', version: '0.1.0' }

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The request never got an answer: fetch failed, HTTP error status (a lost session), not connected. */
function isTransportFailure(error: unknown): boolean {
  if (error instanceof McpError) return false
  if (error instanceof StreamableHTTPError) return true
  if (error instanceof TypeError && error.message === 'fetch failed') return true
  return error instanceof Error && error.message === 'Not connected'
}

/** The server's own words: McpError prefixes "MCP error <code>: ". */
function serverMessage(error: unknown): string {
  return errorMessage(error).replace(/^MCP error -?\d+: /, '')
}

interface Connection {
  client: Client
  transport: TrackedStdioTransport | StreamableHTTPClientTransport
  /** Set once it closed, whatever the reason. */
  closed: boolean
  pid?: number
}

export class ServerState {
  readonly name: string
  readonly config: McpServerConfig
  readonly logger: McpLogger
  readonly policy: McpRestartPolicy
  conn: Connection | undefined
  healthy = false
  error: string | undefined
  restarts = 0
  /** Starts that failed and crashes since the server last stayed up: the next wait doubles with each. */
  failures = 0
  /** When the current connection came up. */
  upSince: number | undefined
  restartTimer: NodeJS.Timeout | undefined
  /** When the scheduled restart is due, and the wait it was given (for the logs). */
  nextRestartAt: number | undefined
  restartDelayMs: number | undefined
  restarting = false
  /** The restart under way, awaited by close(). */
  restartRun: Promise<void> | undefined
  closing = false
  /** Its tools are known (it has been up once); until then its first connection brings them. */
  discovered = false
  /** Called with the tools of a server that failed at start, once it is up. */
  onDiscovered: ((tools: Tool[]) => void) | undefined
  consecutiveTimeouts = 0
  /** Tool names as the server lists them, from the start. */
  toolNames: string[] = []
  stderrTail: string[] = []
  /** The stderr tail when it went down: for health() and the logs, not for the model. */
  stderrNote = ''
  /** Connections being closed in the background (a wedged server), awaited by close(). */
  readonly closingConns = new Set<Promise<void>>()

  /** What the server says passes through it; `logger` scrubs already. */
  readonly scrubber: SecretScrubber

  constructor(name: string, config: McpServerConfig, logger: McpLogger, policy: McpRestartPolicy, scrubber: SecretScrubber) {
    this.name = name
    this.config = config
    this.logger = logger
    this.policy = policy
    this.scrubber = scrubber
  }

  /** Connects and lists the tools; a failure is logged, and retried in the background. */
  async start(): Promise<Tool[]> {
    const started = Date.now()
    try {
      const { conn, tools } = await this.connect()
      this.up(conn)
      this.discovered = true
      this.toolNames = tools.map((tool) => tool.name)
      this.logger.info(
        { mcpServer: this.name, transport: this.kind, tools: this.toolNames, pid: conn.pid, ms: Date.now() - started },
        `MCP server ${this.name} connected`,
      )
      return tools
    } catch (error) {
      this.error = `failed to start: ${errorMessage(error)}`
      this.scheduleRestart()
      this.logger.error(
        { mcpServer: this.name, transport: this.kind, reason: this.error + this.stderrNote, retryInMs: this.restartDelayMs },
        `MCP server ${this.name} failed to start`,
      )
      return []
    }
  }

  /** Why it is down and when it is tried again, for health(). */
  describe(): string | undefined {
    if (this.healthy || this.error === undefined) return undefined
    let next = ''
    if (this.restarting) next = '; restarting now'
    else if (this.nextRestartAt !== undefined) next = `; restarting in ${Math.max(1, Math.ceil((this.nextRestartAt - Date.now()) / 1000))} s`
    return this.scrubber.scrub(this.error + next + this.stderrNote)
  }

  private up(conn: Connection): void {
    this.conn = conn
    this.healthy = true
    this.upSince = Date.now()
    this.error = undefined
    this.stderrNote = ''
  }

  get kind(): 'stdio' | 'http' {
    return this.config.transport
  }

  async connect(): Promise<{ conn: Connection; tools: Tool[] }> {
    const client = new Client(CLIENT_INFO, { capabilities: {} })
    const config = this.config
    let transport: TrackedStdioTransport | StreamableHTTPClientTransport
    if (config.transport === 'stdio') {
      const stdio = new TrackedStdioTransport({
        command: config.command,
        args: config.args,
        env: { ...inheritedNetworkEnv(), ...config.env },
        ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
        stderr: 'pipe',
      })
      let partial = ''
      const decoder = new StringDecoder('utf8')
      stdio.stderr?.on('data', (chunk: Buffer) => {
        const lines = (partial + decoder.write(chunk)).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) this.stderrLine(line)
      })
      transport = stdio
    } else {
      traceFetches()
      transport = new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } })
    }
    const conn: Connection = { client, transport, closed: false }
    client.onclose = () => {
      conn.closed = true
      this.connectionClosed(conn)
    }
    client.onerror = (error) => {
      if (!conn.closed && !this.closing) this.logger.warn({ mcpServer: this.name, err: errorMessage(error) }, 'MCP transport error')
    }
    // One deadline for initialize and every tools/list page.
    const deadline = Date.now() + config.startTimeoutMs
    const left = () => {
      const timeout = Math.max(1, deadline - Date.now())
      return { timeout, maxTotalTimeout: timeout }
    }
    try {
      await client.connect(transport, left())
      if (transport instanceof TrackedStdioTransport) conn.pid = transport.spawnedPid
      const tools: Tool[] = []
      let cursor: string | undefined
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await client.listTools(cursor === undefined ? undefined : { cursor }, left())
        // Not push(...): a page is as long as the server makes it, and a spread puts it all on the stack.
        for (const tool of result.tools) tools.push(tool)
        if (!result.nextCursor || result.nextCursor === cursor) break
        cursor = result.nextCursor
      }
      return { conn, tools }
    } catch (error) {
      conn.closed = true
      await client.close().catch(() => {})
      // A failed initialize already started a graceful close (stdin closed, SIGTERM in 2 s) that
      // nobody awaits: a server that failed to start gets no grace.
      const pid = transport instanceof TrackedStdioTransport ? transport.spawnedPid : undefined
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      this.noteStderr()
      throw error
    }
  }

  noteStderr(): void {
    this.stderrNote = this.stderrTail.length > 0 ? ` (stderr: ${this.stderrTail.join(' | ')})` : ''
  }

  stderrLine(line: string): void {
    if (line.trim() === '') return
    this.stderrTail.push(line.slice(0, 500))
    if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift()
    this.logger.info({ mcpServer: this.name, stderr: line.slice(0, 2_000) }, 'MCP server stderr')
  }

  /** The transport closed: expected when we close it, a crash otherwise. */
  connectionClosed(conn: Connection): void {
    if (this.closing || conn !== this.conn) return
    this.lost(this.kind === 'stdio' ? 'exited' : 'closed the connection')
  }

  /** Marks the current connection gone (closing it if need be) and schedules a restart. */
  lost(reason: string, conn: Connection | undefined = this.conn): void {
    if (this.closing || conn === undefined || conn !== this.conn) return
    this.conn = undefined
    this.healthy = false
    this.consecutiveTimeouts = 0
    this.error = reason
    this.noteStderr()
    // A server that ran a good while before failing starts over with the shortest wait.
    if (this.upSince !== undefined && Date.now() - this.upSince >= this.policy.stableAfterMs) this.failures = 0
    this.upSince = undefined
    this.scheduleRestart()
    this.logger.error(
      { mcpServer: this.name, reason: this.error + this.stderrNote, retryInMs: this.restartDelayMs },
      `MCP server ${this.name} ${reason}`,
    )
    if (!conn.closed) {
      conn.closed = true
      const closing = conn.client.close().catch(() => {})
      this.closingConns.add(closing)
      void closing.finally(() => this.closingConns.delete(closing))
    }
  }

  /** Never gives up: a server that is down costs one attempt per maxDelayMs at most. */
  scheduleRestart(): void {
    if (this.closing || this.restartTimer !== undefined) return
    const { firstDelayMs, maxDelayMs } = this.policy
    const delay = Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(this.failures, 30))
    this.failures++
    this.restartDelayMs = delay
    this.nextRestartAt = Date.now() + delay
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      this.nextRestartAt = undefined
      this.restartRun = this.restart().finally(() => {
        this.restartRun = undefined
      })
    }, delay)
    this.restartTimer.unref()
  }

  async restart(): Promise<void> {
    if (this.closing) return
    this.restarts++
    this.restarting = true
    this.stderrTail = []
    this.logger.info({ mcpServer: this.name, restarts: this.restarts }, `restarting MCP server ${this.name}`)
    try {
      const { conn, tools } = await this.connect()
      if (this.closing) {
        conn.closed = true
        await conn.client.close().catch(() => {})
        return
      }
      this.up(conn)
      const names = tools.map((tool) => tool.name)
      if (!this.discovered) {
        this.discovered = true
        this.toolNames = names
        this.onDiscovered?.(tools)
        this.logger.info({ mcpServer: this.name, tools: names, restarts: this.restarts }, `MCP server ${this.name} connected`)
        return
      }
      const missing = this.toolNames.filter((name) => !names.includes(name))
      const added = names.filter((name) => !this.toolNames.includes(name))
      if (missing.length > 0 || added.length > 0) {
        this.logger.warn(
          { mcpServer: this.name, missing, added },
          `MCP server ${this.name} lists different tools after its restart; the tools discovered at start are kept`,
        )
      }
      this.logger.info({ mcpServer: this.name, restarts: this.restarts }, `MCP server ${this.name} restarted`)
    } catch (error) {
      this.error = `${this.discovered ? 'restart failed' : 'failed to start'}: ${errorMessage(error)}`
      this.scheduleRestart()
      this.logger.error(
        { mcpServer: this.name, reason: this.error + this.stderrNote, retryInMs: this.restartDelayMs },
        `MCP server ${this.name} could not be ${this.discovered ? 'restarted' : 'started'}`,
      )
    } finally {
      this.restarting = false
    }
  }

  async call(tool: string, fullName: string, args: Record<string, unknown>, signal: AbortSignal): Promise<string> {
    const conn = this.conn
    if (!this.healthy || conn === undefined) {
      const why = this.restarting || this.restartTimer !== undefined ? ' (restarting)' : ''
      throw new ToolError(`MCP server ${this.name} is unavailable: ${this.error ?? 'not connected'}${why}`)
    }
    if (signal.aborted) throw new ToolError(`MCP tool ${fullName} was cancelled`)
    const timeoutMs = this.config.timeoutMs
    // A signal of our own per call: the SDK never removes its abort listener.
    const controller = new AbortController()
    const onAbort = () => controller.abort(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    let result: CallToolResult
    try {
      result = (await conn.client.callTool({ name: tool, arguments: args }, undefined, {
        signal: controller.signal,
        timeout: timeoutMs,
        maxTotalTimeout: timeoutMs,
      })) as CallToolResult
    } catch (error) {
      // First: the SDK reports an abort as an McpError RequestTimeout too.
      if (controller.signal.aborted) {
        const reason: unknown = signal.reason
        const timedOut = reason instanceof Error && reason.name === 'TimeoutError'
        throw new ToolError(`MCP tool ${fullName} was ${timedOut ? 'stopped: it timed out' : 'cancelled'}`)
      }
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        if (++this.consecutiveTimeouts >= WEDGED_AFTER_TIMEOUTS && conn === this.conn) {
          this.lost(`stopped answering (${this.consecutiveTimeouts} tool calls in a row timed out)`, conn)
        }
        throw new ToolError(`MCP tool ${fullName} timed out after ${timeoutMs} ms`)
      }
      if (conn.closed || (error instanceof McpError && error.code === ErrorCode.ConnectionClosed)) {
        throw new ToolError(this.kind === 'stdio' ? `MCP server ${this.name} exited` : `MCP server ${this.name} closed the connection`)
      }
      if (isTransportFailure(error)) {
        // No answer from the server: the HTTP request failed, the session is gone, etc.
        this.lost(`is unreachable: ${errorMessage(error)}`, conn)
        throw new ToolError(`MCP server ${this.name} is unavailable: ${errorMessage(error)}`)
      }
      this.consecutiveTimeouts = 0
      throw new ToolError(`MCP tool ${fullName} failed: ${serverMessage(error)}`)
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
    this.consecutiveTimeouts = 0
    const text = renderContent(result)
    if (result.isError === true) throw new ToolError(text || `MCP tool ${fullName} failed`)
    return text
  }

  async close(): Promise<void> {
    this.closing = true
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer)
    this.restartTimer = undefined
    this.nextRestartAt = undefined
    const conn = this.conn
    this.conn = undefined
    this.healthy = false
    this.error = 'closed'
    this.stderrNote = ''
    await Promise.all([...this.closingConns, this.restartRun])
    if (conn === undefined || conn.closed) return
    conn.closed = true
    if (conn.transport instanceof StreamableHTTPClientTransport && conn.transport.sessionId !== undefined) {
      const transport = conn.transport
      await Promise.race([transport.terminateSession().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
    }
    await conn.client.close().catch(() => {})
  }
}
