// The response cache's store when REDIS_URL is unset: least recently used first out, bounded in
// bytes (each entry charged its UTF-8 length), every entry with its own expiry.
import type { CacheStore } from './response-cache.ts'

interface Entry {
  value: string
  bytes: number
  expiresAt: number
}

export class MemoryStore implements CacheStore {
  readonly kind = 'memory'
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

  get usedBytes(): number {
    return this.bytes
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    this.entries.delete(key)
    if (entry.expiresAt <= this.now()) {
      this.bytes -= entry.bytes
      return undefined
    }
    this.entries.set(key, entry)
    return entry.value
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    const bytes = Buffer.byteLength(value)
    if (bytes > this.maxBytes) return
    const old = this.entries.get(key)
    if (old) {
      this.entries.delete(key)
      this.bytes -= old.bytes
    }
    this.entries.set(key, { value, bytes, expiresAt: this.now() + ttlSeconds * 1000 })
    this.bytes += bytes
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(oldest)
      this.bytes -= entry.bytes
    }
  }
}
