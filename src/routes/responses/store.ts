// The responses the gateway produced for upstreams without a Responses API of their own (Claude,
// chat-only servers), kept so that `previous_response_id` continues a conversation and GET /
// DELETE /v1/responses/{id} work as on OpenAI. Bounded in entries and bytes, least recently used
// first out; each entry is kept as JSON text, so nothing it holds pins a caller's request body.

export interface StoredResponse {
  /** This turn's input items (earlier turns are in the responses `previous` leads to). */
  input: unknown[]
  /** The Response object as the caller got it. */
  response: Record<string, unknown> & { output?: unknown[] }
  /** The response this one continued (`previous_response_id`). */
  previous?: string | undefined
}

export class ResponseStore {
  /** Response id → its entry as JSON text, and the ids of its output items. */
  private readonly entries = new Map<string, { text: string; itemIds: string[] }>()
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
    const entry = this.entries.get(id)
    if (entry === undefined) return undefined
    // Used again: the most recent now.
    this.entries.delete(id)
    this.entries.set(id, entry)
    return JSON.parse(entry.text) as StoredResponse
  }

  /**
   * The conversation a response ended: every turn's input and output items, oldest first,
   * following `previous` links; undefined when any turn of it is no longer kept (a conversation
   * with a hole in it cannot be continued). Each turn is kept once, however long the
   * conversation: storing the whole history with every turn would grow as its square.
   */
  history(id: string): unknown[] | undefined {
    const turns: StoredResponse[] = []
    for (let current: string | undefined = id; current !== undefined; ) {
      // A chain is at most as long as the store; a longer walk is a cycle.
      if (turns.length > this.entries.size) return undefined
      const turn = this.get(current)
      if (!turn) return undefined
      turns.push(turn)
      current = turn.previous
    }
    const items: unknown[] = []
    for (let i = turns.length - 1; i >= 0; i--) {
      for (const item of turns[i]!.input) items.push(item)
      for (const item of turns[i]!.response.output ?? []) items.push(item)
    }
    return items
  }

  /**
   * Output items of kept responses, by their ids: what `item_reference` input items stand for
   * (the AI SDK sends them for earlier steps when `store` is on). Each response is read once,
   * however many of its items are asked for.
   */
  itemsById(ids: readonly string[]): Map<string, Record<string, unknown>> {
    const found = new Map<string, Record<string, unknown>>()
    const read = new Set<string>()
    for (const id of ids) {
      const owner = this.items.get(id)
      if (owner === undefined || read.has(owner)) continue
      read.add(owner)
      for (const item of this.get(owner)?.response.output ?? []) {
        const itemId = (item as { id?: unknown } | null)?.id
        if (typeof itemId === 'string') found.set(itemId, item as Record<string, unknown>)
      }
    }
    return found
  }

  has(id: string): boolean {
    return this.entries.has(id)
  }

  /**
   * Keeps `entry` unless it alone is over a quarter of the byte bound (then it is not kept at
   * all): one caller's turn may not push out everyone else's conversations, and reading it back
   * (a parse per continuation) stays short.
   */
  put(id: string, entry: StoredResponse): void {
    if (this.maxEntries === 0) return
    const text = JSON.stringify(entry)
    // Two bytes per character: V8's worst case for a string, and the bound must hold in memory.
    const size = text.length * 2
    if (size > this.maxBytes / 4) return
    this.delete(id)
    const ids = itemIds(entry.response)
    this.entries.set(id, { text, itemIds: ids })
    this.bytes += size
    for (const itemId of ids) this.items.set(itemId, id)
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break
      this.delete(oldest)
    }
  }

  delete(id: string): boolean {
    const entry = this.entries.get(id)
    if (entry === undefined) return false
    this.entries.delete(id)
    this.bytes -= entry.text.length * 2
    for (const itemId of entry.itemIds) if (this.items.get(itemId) === id) this.items.delete(itemId)
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
