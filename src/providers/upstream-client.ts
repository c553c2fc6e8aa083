// What every HTTP adapter is configured with: one pooled undici dispatcher for all upstream
// connections (keep-alive, no hidden 5-minute header/body timeouts: the gateway keeps its own),
// the first-byte timeout, and the secrets to scrub from messages. Retries are not here: the
// dispatch owns them (src/core/attempts.ts).
import { Dispatcher, Pool } from 'undici'
import type { UpstreamEndpoint } from '../core/types.ts'

export interface UpstreamClientOptions {
  firstByteTimeoutMs: number
  dispatcher: Dispatcher
  secrets: readonly string[]
}

export function createUpstreamClientOptions(settings: { firstByteTimeoutMs: number; secrets: readonly string[] }): UpstreamClientOptions {
  const dispatcher = new OriginPools({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  })
  return { ...settings, dispatcher }
}

/**
 * undici's Agent (a Pool per origin) minus one cost: on every closed connection the Agent counts
 * the connected clients of that origin's pool to decide whether to drop the pool, which is
 * O(connections) per close and O(n²) when many streams end at once. Measured in the
 * 1,000-disconnect burst (bench/RESILIENCE.md): about 85 ms of the event loop. Upstream origins
 * are the configured providers, a handful for the life of the process, so their pools are kept
 * (each keeps the clients of its busiest moment, a few KB each, reused as connections reopen).
 */
export class OriginPools extends Dispatcher {
  readonly #options: Pool.Options
  readonly #pools = new Map<string, Pool>()

  constructor(options: Pool.Options) {
    super()
    this.#options = options
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(options.origin)
    let pool = this.#pools.get(origin)
    if (!pool) this.#pools.set(origin, (pool = new Pool(origin, this.#options)))
    return pool.dispatch(options, handler)
  }

  /** Closes every pool once its requests are done. */
  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    const closed = Promise.all([...this.#pools.values()].map((pool) => pool.close())).then(() => {})
    if (!callback) return closed
    void closed.then(callback, callback)
  }

  /** Destroys every pool at once, failing the requests still running. */
  override destroy(): Promise<void>
  override destroy(error: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(error: Error | null, callback: () => void): void
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | void {
    const error = typeof first === 'function' ? null : (first ?? null)
    const callback = typeof first === 'function' ? first : second
    const destroyed = Promise.all([...this.#pools.values()].map((pool) => pool.destroy(error))).then(() => {})
    if (!callback) return destroyed
    void destroyed.then(callback, callback)
  }
}

export function endpointOf(baseURL: string): UpstreamEndpoint {
  const url = new URL(baseURL)
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
  return { address: url.hostname, port }
}
