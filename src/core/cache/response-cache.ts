// The response cache: answers kept by the key of what determined them (./key.ts), for the route
// groups that opt in or for every model (GATEWAY_CONFIG `cache`). A JSON call keeps its answer, a
// streamed one its events, each as the caller's API shaped them before the gateway's additions
// (trace ids, cost), so a hit gets its own. The store is memory or Redis; whatever it throws or
// however long it hangs, a lookup is a miss and a save is dropped: the cache never fails a call.
import type { CacheConfig } from '../../config.ts'
import type { Plan } from '../router.ts'
import type { Usage } from '../types.ts'
import { cacheKey } from './key.ts'

/** Where entries live. Values are JSON text; a store may drop any entry at any time. */
export interface CacheStore {
  readonly kind: 'memory' | 'redis'
  get(key: string): Promise<string | undefined>
  set(key: string, value: string, ttlSeconds: number): Promise<void>
  close?(): Promise<void>
}

/** One answer as kept. */
export interface CachedAnswer {
  /** The target that served it. */
  provider: string
  model: string
  /** The upstream's name for the model that answered. */
  responseModel?: string | undefined
  responseId?: string | undefined
  finishReasons: string[]
  usage?: Usage | undefined
  /** What the call cost (what a hit saves), when known. */
  costUsd?: number | undefined
  /** Epoch ms. */
  storedAt: number
  /** Headers the call added (what was left out of the request). */
  headers?: Record<string, string> | undefined
  /** A JSON call's answer, before the gateway's additions. */
  json?: Record<string, unknown> | undefined
  /** A streamed call's events as the caller's API shaped them: the SSE event name and the JSON data. */
  events?: Array<{ event?: string | undefined; data: string }> | undefined
}

/** What the cache does for one call. */
export interface CachePolicy {
  key: string
  ttlSeconds: number
  /** False for `cache-control: no-cache` (answer fresh, keep the answer). */
  read: boolean
  /** False for `cache-control: no-store` (neither read nor keep). */
  write: boolean
}

/** How long a lookup may take before it counts as a miss. */
const LOOKUP_TIMEOUT_MS = 250

export class ResponseCache {
  readonly store: CacheStore
  readonly config: CacheConfig
  private readonly onError: (error: unknown, operation: 'get' | 'set') => void

  constructor(store: CacheStore, config: CacheConfig, onError: (error: unknown, operation: 'get' | 'set') => void = () => {}) {
    this.store = store
    this.config = config
    this.onError = onError
  }

  /** The cache's part in a call, or undefined when the call's model or group is not cached. */
  policy(plan: Plan, api: string, body: Record<string, unknown>, streaming: boolean, cacheControl: string | undefined): CachePolicy | undefined {
    const groupSetting = plan.group?.config.cache
    const ttlSeconds = groupSetting === false ? undefined : (groupSetting?.ttlSeconds ?? this.config.ttlSeconds)
    if (ttlSeconds === undefined) return undefined
    const directives = (cacheControl ?? '').toLowerCase().split(',').map((d) => d.trim())
    const write = !directives.includes('no-store')
    const read = write && !directives.includes('no-cache')
    return { key: cacheKey(api, plan.requested, streaming, body), ttlSeconds, read, write }
  }

  /** The answer kept under `key`; undefined on a miss, a store error or a store too slow to answer. */
  async lookup(key: string): Promise<CachedAnswer | undefined> {
    let timer: NodeJS.Timeout | undefined
    try {
      const slow = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS)
      })
      const text = await Promise.race([this.store.get(key), slow])
      return text === undefined ? undefined : (JSON.parse(text) as CachedAnswer)
    } catch (error) {
      this.onError(error, 'get')
      return undefined
    } finally {
      clearTimeout(timer)
    }
  }

  /** Keeps `answer` (not waited for; an answer longer than maxEntryBytes is not kept). */
  save(key: string, answer: CachedAnswer, ttlSeconds: number): void {
    let text: string
    try {
      text = JSON.stringify(answer)
    } catch (error) {
      this.onError(error, 'set')
      return
    }
    if (text.length > this.config.maxEntryBytes) return
    this.store.set(key, text, ttlSeconds).catch((error: unknown) => this.onError(error, 'set'))
  }
}
