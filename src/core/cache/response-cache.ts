// The response cache: answers kept by the key of what determined them (./key.ts), for the route
// groups that opt in or for every model (GATEWAY_CONFIG `cache`). A JSON call keeps its answer, a
// streamed one its events, each as the caller's API shaped them before the gateway's additions
// (trace ids, cost), so a hit gets its own. The store is memory or Redis; whatever it throws or
// however long it hangs, a lookup is a miss and a save is dropped: the cache never fails a call.
import type { CacheConfig } from '../../config.ts'
import type { Plan } from '../router.ts'
import type { Usage } from '../types.ts'
import { cacheKey, uncacheable } from './key.ts'
import { TimeSlice } from './time-slice.ts'

/** Where entries live. Values are the text `encode` writes; a store may drop any entry at any time. */
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

  /**
   * The cache's part in a call, or undefined when the call's model or group is not cached.
   * `passedOn`: the request headers that go on to the provider (they are part of the key).
   */
  policy(
    plan: Plan,
    api: string,
    body: Record<string, unknown>,
    streaming: boolean,
    request: { cacheControl?: string | undefined; passedOn?: Readonly<Record<string, string>> | undefined } = {},
  ): CachePolicy | undefined {
    const groupSetting = plan.group?.config.cache
    const ttlSeconds = groupSetting === false ? undefined : (groupSetting?.ttlSeconds ?? this.config.ttlSeconds)
    if (ttlSeconds === undefined) return undefined
    // A request whose answer depends on state the provider keeps is passed by, like no-store.
    if (uncacheable(body)) return { key: '', ttlSeconds, read: false, write: false }
    const directives = (request.cacheControl ?? '').toLowerCase().split(',').map((d) => d.trim())
    const write = !directives.includes('no-store')
    const read = write && !directives.includes('no-cache')
    // The name the caller used and what it stands for now: an alias or a group pointed elsewhere
    // (a Redis cache outlives a restart with a new configuration) must not answer with what the
    // old targets said. Sorted: a loadbalance plan lists its targets in a new order each call.
    const targets = plan.targets.map((t) => `${t.route.adapter.name}/${t.route.model}`).sort()
    return { key: cacheKey(api, [plan.requested, ...targets].join('\n'), streaming, body, request.passedOn), ttlSeconds, read, write }
  }

  /** The answer kept under `key`; undefined on a miss, a store error or a store too slow to answer. */
  async lookup(key: string): Promise<CachedAnswer | undefined> {
    let timer: NodeJS.Timeout | undefined
    try {
      const slow = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS)
      })
      const text = await Promise.race([this.store.get(key), slow])
      return text === undefined ? undefined : await decode(text)
    } catch (error) {
      this.onError(error, 'get')
      return undefined
    } finally {
      clearTimeout(timer)
    }
  }

  /** Keeps `answer` (not waited for; an answer longer than maxEntryBytes is not kept). */
  save(key: string, answer: CachedAnswer, ttlSeconds: number): void {
    void this.keep(key, answer, ttlSeconds)
  }

  private async keep(key: string, answer: CachedAnswer, ttlSeconds: number): Promise<void> {
    try {
      const text = await encode(answer)
      if (Buffer.byteLength(text) > this.config.maxEntryBytes) return
      await this.store.set(key, text, ttlSeconds)
    } catch (error) {
      this.onError(error, 'set')
    }
  }
}

/**
 * An entry as text: the answer but its events as JSON on the first line; then, for a stream, the
 * number of events and each event's SSE name, the length of its data and its data. The data is
 * JSON text already: inside JSON again every quote in it would be escaped, and a long stream
 * (150,000 chunks, 30 MB) would take more than a second to stringify and half one to parse, all
 * that time holding up every other caller. Both directions pause between time slices.
 */
export async function encode(answer: CachedAnswer): Promise<string> {
  const { events, ...rest } = answer
  const head = JSON.stringify(rest)
  if (!events) return head
  // Joined in pieces of about PIECE_CHARS, then the pieces at once: one join (or `+=` rope) of
  // hundreds of thousands of parts runs, or is flattened, in one go, 300 ms and more for 70 MB.
  const pieces = [`${head}\n${events.length}`]
  let parts: string[] = []
  let length = 0
  const slice = new TimeSlice()
  for (const { event, data } of events) {
    if (slice.over) await slice.pause()
    parts.push(`\n${event ?? ''}\n${data.length}\n`, data)
    length += data.length
    if (length >= PIECE_CHARS) {
      pieces.push(parts.join(''))
      parts = []
      length = 0
    }
  }
  pieces.push(parts.join(''))
  return pieces.join('')
}

/** See encode. */
const PIECE_CHARS = 64 * 1024

/** The answer `encode` wrote; throws on text it did not write. */
export async function decode(text: string): Promise<CachedAnswer> {
  let at = text.indexOf('\n')
  if (at < 0) return JSON.parse(text) as CachedAnswer
  const answer = JSON.parse(text.slice(0, at)) as CachedAnswer
  const line = () => {
    const end = text.indexOf('\n', at + 1)
    if (end < 0) throw new Error('a cached stream garbled')
    const value = text.slice(at + 1, end)
    at = end
    return value
  }
  const count = Number(line())
  const events: NonNullable<CachedAnswer['events']> = []
  const slice = new TimeSlice()
  for (let i = 0; i < count; i++) {
    if (slice.over) await slice.pause()
    const event = line()
    const length = Number(line())
    const data = text.slice(at + 1, at + 1 + length)
    at += length + 1
    if (!Number.isInteger(length) || data.length !== length || (at < text.length && text[at] !== '\n')) throw new Error('a cached stream garbled')
    events.push({ event: event === '' ? undefined : event, data })
  }
  answer.events = events
  return answer
}
