// The response cache's key: a hash of what determines an answer — the caller's API, the model or
// route group named and the targets it stands for (see ResponseCache.policy), whether it streams,
// the request headers that go on to the provider (`anthropic-version`, `anthropic-beta`: a beta
// changes what the model may answer), and the body's every field but those that only label or
// deliver the call (NOT_DETERMINING). Object keys are sorted, so two clients writing one request
// in different key orders share an entry; arrays keep their order. Whatever is not excluded
// counts, so a field an API adds later makes a miss, never a wrong hit: `n`, `seed`,
// `parallel_tool_calls`, `reasoning_effort`, `reasoning`, `include`, `text`, `instructions`,
// Anthropic's `system`, `thinking`, `top_k`, `stop_sequences` all count.
import { createHash, type Hash } from 'node:crypto'

/**
 * Fields that say who asked, how to deliver, or how the provider bills or caches the prompt, not
 * what to answer (checked against the OpenAI chat, Responses and embeddings, and the Anthropic
 * Messages references): the model goes in on its own (as the caller named it); `stream` is the
 * key's own part; `stream_options` only asks for the usage chunk, which the gateway always
 * requests and the chat framer gives each caller as it asked; `user`, `safety_identifier` and
 * `metadata` label the caller; `service_tier` is speed and price; `prompt_cache_key` and
 * `prompt_cache_retention` steer the provider's prompt cache. `store` counts: a Responses answer
 * kept with `store: false` has an id OpenAI cannot find, which a caller asking to store it needs.
 */
const NOT_DETERMINING = new Set([
  'model',
  'stream',
  'stream_options',
  'user',
  'safety_identifier',
  'metadata',
  'service_tier',
  'prompt_cache_key',
  'prompt_cache_retention',
])

/**
 * Why a request's answer must not come from the cache nor go in it, if it must not: it reads or
 * changes state the provider keeps, so the same body may get another answer. A Responses
 * `conversation` grows with every call; `background: true` answers a queued response to poll;
 * Anthropic's `container` is a code-execution sandbox whose files change.
 */
export function uncacheable(body: Record<string, unknown>): string | undefined {
  if (body.conversation !== undefined && body.conversation !== null) return 'conversation'
  if (body.background === true) return 'background'
  if (body.container !== undefined && body.container !== null) return 'container'
  return undefined
}

export function cacheKey(
  api: string,
  model: string,
  streaming: boolean,
  body: Record<string, unknown>,
  headers: Readonly<Record<string, string>> = {},
): string {
  const hash = createHash('sha256')
  hash.update(`v2\n${api}\n${streaming ? 'stream' : 'json'}\n${model.length}:${model}\n`)
  const out = new CanonicalJson(hash)
  out.value(headers)
  out.text('\n')
  const keys = Object.keys(body).filter((key) => !NOT_DETERMINING.has(key)).sort()
  for (const key of keys) {
    if (body[key] === undefined) continue
    out.text(`${JSON.stringify(key)}:`)
    out.value(body[key])
    out.text(',')
  }
  out.flush()
  return hash.digest('hex')
}

/** Text handed to the hash at once: a call per token cost more than the hashing itself. */
const FLUSH_CHARS = 64 * 1024

/**
 * Canonical JSON (keys sorted) into a hash, without building the whole text (a body may be 10 MB),
 * in pieces of about FLUSH_CHARS: a 10 MB body of 50,000 messages took 110 ms a call per token.
 */
class CanonicalJson {
  private readonly hash: Hash
  private pending = ''

  constructor(hash: Hash) {
    this.hash = hash
  }

  text(piece: string): void {
    if (piece.length >= FLUSH_CHARS) {
      // A long string goes in as it is, not copied into the pending text first.
      this.flush()
      this.hash.update(piece)
      return
    }
    this.pending += piece
    if (this.pending.length >= FLUSH_CHARS) this.flush()
  }

  flush(): void {
    if (this.pending === '') return
    this.hash.update(this.pending)
    this.pending = ''
  }

  value(value: unknown): void {
    if (value === null || typeof value !== 'object') {
      this.text(JSON.stringify(value) ?? 'null')
      return
    }
    if (Array.isArray(value)) {
      this.text('[')
      for (const item of value) {
        this.value(item)
        this.text(',')
      }
      this.text(']')
      return
    }
    const object = value as Record<string, unknown>
    this.text('{')
    for (const key of Object.keys(object).sort()) {
      if (object[key] === undefined) continue
      this.text(`${JSON.stringify(key)}:`)
      this.value(object[key])
      this.text(',')
    }
    this.text('}')
  }
}
