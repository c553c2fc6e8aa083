// What the reasoning agent knows of a tool: a name the model can call (a valid OpenAI function
// name), a description and JSON schema it is shown, and a run function. Built-in tools and MCP
// tools look the same from here on.

export interface ToolRunOptions {
  /** Aborted when the caller disconnects or the per-tool timeout fires. */
  signal: AbortSignal
}

export interface AgentTool {
  /** `^[a-zA-Z0-9_-]{1,64}$`; MCP tools are `<server>__<tool>`. */
  readonly name: string
  readonly description: string
  /** JSON schema of the arguments object. */
  readonly parameters: Record<string, unknown>
  /** Where it comes from, for GET /v1/agents/tools: `builtin` or `mcp:<server>`. */
  readonly source: string
  /**
   * Runs the tool. Returns the text the model sees. Throws `ToolError` (or anything) when the
   * tool failed: the agent turns that into an error result for the model and goes on.
   */
  run(args: Record<string, unknown>, options: ToolRunOptions): Promise<string>
}

/** A failure whose message is meant for the model (and the caller): bad arguments, tool errors. */
export class ToolError extends Error {
  override name = 'ToolError'
}
