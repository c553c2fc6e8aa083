// What every SDK-based adapter is configured with: one pooled undici dispatcher for all upstream
// connections (keep-alive, no hidden 5-minute header/body timeouts: the gateway keeps its own),
// the SDK's retry count and first-byte timeout, and the secrets to scrub from messages.
import { Agent, fetch as undiciFetch } from 'undici'
import type { UpstreamEndpoint } from '../core/types.ts'

export interface UpstreamClientOptions {
  maxRetries: number
  firstByteTimeoutMs: number
  fetch: typeof globalThis.fetch
  fetchOptions: { dispatcher: Agent }
  secrets: readonly string[]
}

export function createUpstreamClientOptions(settings: {
  maxRetries: number
  firstByteTimeoutMs: number
  secrets: readonly string[]
}): UpstreamClientOptions {
  const dispatcher = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  })
  return {
    ...settings,
    fetch: undiciFetch as unknown as typeof globalThis.fetch,
    fetchOptions: { dispatcher },
  }
}

export function endpointOf(baseURL: string): UpstreamEndpoint {
  const url = new URL(baseURL)
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
  return { address: url.hostname, port }
}
