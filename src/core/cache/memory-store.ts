// The response cache's store when REDIS_URL is unset: least recently used first out, bounded in
// bytes, every entry with its own expiry. An entry is charged what it holds in memory, not its
// UTF-8 length: V8 keeps a string in one byte a character while every character fits in Latin-1,
// else in two (one emoji doubles a whole answer; Chinese text takes 2 bytes a character, not 3).
// Expired entries are dropped when read, or in their turn as the least recently used.
import type { CacheStore } from './response-cache.ts'

interface Entry {
  value: string
  /** What the entry is charged: its value, its key and ENTRY_OVERHEAD. */
  bytes: number
  expiresAt: number
}

/** The map entry, the entry object and the strings' headers, roughly: what an empty entry costs. */
export const ENTRY_OVERHEAD = 200

export class MemoryStore implements CacheStore {
  readonly kind = 'memory'
  /** In use order: the first is the least recently used (a Map iterates in insertion order). */
  private readonly entries = new Map<string, Entry>()
  private readonly maxBytes: number
  private readonly now: () => number
  private bytes = 0

  constructor(maxBytes: number, now: () => number = Date.now) {
    this.maxBytes = maxBytes
    this.now = now
  }

  get size(): number {
    return this.entries.size
  }

  /** What the entries are charged, in bytes: never more than maxBytes. */
  get usedBytes(): number {
    return this.bytes
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    this.remove(key, entry)
    if (entry.expiresAt <= this.now()) return undefined
    // Used now: to the back of the line.
    this.entries.set(key, entry)
    this.bytes += entry.bytes
    return entry.value
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    const old = this.entries.get(key)
    if (old) this.remove(key, old)
    const bytes = stringBytes(value) + stringBytes(key) + ENTRY_OVERHEAD
    // Too large to keep at all: the old answer went too, as a newer one was made.
    if (bytes > this.maxBytes) return
    this.evict(this.maxBytes - bytes)
    this.entries.set(key, { value, bytes, expiresAt: this.now() + ttlSeconds * 1000 })
    this.bytes += bytes
  }

  /** Drops the least recently used entries until at most `budget` bytes are charged. */
  private evict(budget: number): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= budget) break
      this.remove(key, entry)
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key)
    this.bytes -= entry.bytes
  }
}

/** What V8 takes to hold `text`: a byte a character when all are Latin-1, else two. */
export function stringBytes(text: string): number {
  return /[^\u0000-\u00ff]/.test(text) ? text.length * 2 : text.length
}
