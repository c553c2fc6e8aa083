// What a stdio MCP server is started with, beyond its config: the network variables it needs
// behind a proxy or a private CA, and a transport that remembers the child's pid.
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { INHERITED_NETWORK_ENV } from '../tools-config.ts'

/** The proxy and CA variables of the gateway's environment that are set. */
export function inheritedNetworkEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of INHERITED_NETWORK_ENV) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/** Remembers its child's pid: the SDK forgets it as soon as it starts closing. */
export class TrackedStdioTransport extends StdioClientTransport {
  spawnedPid: number | undefined

  override async start(): Promise<void> {
    await super.start()
    this.spawnedPid = this.pid ?? undefined
  }
}
