// The responses the gateway produced for upstreams without a Responses API of their own (Claude,
// chat-only servers), kept so that `previous_response_id` continues a conversation and GET /
// DELETE /v1/responses/{id} work as on OpenAI. Bounded in entries and bytes, least recently used
// first out; each entry is kept as JSON text, so nothing it holds pins a caller's request body.

export interface StoredResponse {
  /** Every input item of the conversation up to and including this response's own input. */
  input: unknown[]
  /** The Response object as the caller got it. */
  response: Record<string, unknown> & { output?: unknown[] }
}

export class ResponseStore {
  private readonly entries = new Map<string, string>()
  /** Output item id → the response that produced it, for `item_reference` input items. */
  private readonly items = new Map<string, string>()
  private bytes = 0
  private readonly maxEntries: number
  private readonly maxBytes: number

  constructor(limits: { maxEntries: number; maxBytes: number }) {
    this.maxEntries = limits.maxEntries
    this.maxBytes = limits.maxBytes
  }

  get(id: string): StoredResponse | undefined {
    const text = this.entries.get(id)
    if (text === undefined) return undefined
    // Used again: the most recent now.
    this.entries.delete(id)
    this.entries.set(id, text)
    return JSON.parse(text) as StoredResponse
  }

  /**
   * An output item of a kept response, by its id: what an `item_reference` input item stands
   * for (the AI SDK sends them for earlier steps when `store` is on).
   */
  item(id: string): Record<string, unknown> | undefined {
    const owner = this.items.get(id)
    if (owner === undefined) return undefined
    const output = this.get(owner)?.response.output ?? []
    return output.find((item) => (item as { id?: unknown } | null)?.id === id) as Record<string, unknown> | undefined
  }

  has(id: string): boolean {
    return this.entries.has(id)
  }

  /** Keeps `entry` unless it alone is over the byte bound (then it is not kept at all). */
  put(id: string, entry: StoredResponse): void {
    if (this.maxEntries === 0) return
    const text = JSON.stringify(entry)
    // Two bytes per character: V8's worst case for a string, and the bound must hold in memory.
    const size = text.length * 2
    if (size > this.maxBytes) return
    this.delete(id)
    this.entries.set(id, text)
    this.bytes += size
    for (const itemId of itemIds(entry.response)) this.items.set(itemId, id)
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break
      this.delete(oldest)
    }
  }

  delete(id: string): boolean {
    const text = this.entries.get(id)
    if (text === undefined) return false
    this.entries.delete(id)
    this.bytes -= text.length * 2
    const response = (JSON.parse(text) as StoredResponse).response
    for (const itemId of itemIds(response)) if (this.items.get(itemId) === id) this.items.delete(itemId)
    return true
  }
}

function itemIds(response: StoredResponse['response']): string[] {
  const ids: string[] = []
  for (const item of response.output ?? []) {
    const id = (item as { id?: unknown } | null)?.id
    if (typeof id === 'string') ids.push(id)
  }
  return ids
}

/** The input of a call as items (a string input is one user message). */
export function inputItems(input: unknown): unknown[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }]
  return Array.isArray(input) ? input : []
}
