// The response cache's key: a hash of what determines an answer — the caller's API, the model or
// route group named, whether it streams, and the body's every field but those that only label or
// deliver the call (`stream`, `stream_options`, `user`, `metadata`, …). Object keys are sorted, so
// two clients writing one request in different key orders share an entry; arrays keep their order.
import { createHash, type Hash } from 'node:crypto'

/** Fields that say who asked or how to deliver, not what to answer. */
const NOT_DETERMINING = new Set(['model', 'stream', 'stream_options', 'user', 'metadata', 'store', 'safety_identifier', 'prompt_cache_key', 'service_tier'])

export function cacheKey(api: string, model: string, streaming: boolean, body: Record<string, unknown>): string {
  const hash = createHash('sha256')
  hash.update(`v1\n${api}\n${streaming ? 'stream' : 'json'}\n${model.length}:${model}\n`)
  const keys = Object.keys(body).filter((key) => !NOT_DETERMINING.has(key)).sort()
  for (const key of keys) {
    if (body[key] === undefined) continue
    hash.update(JSON.stringify(key))
    hash.update(':')
    write(hash, body[key])
    hash.update(',')
  }
  return hash.digest('hex')
}

/** Canonical JSON of `value` into the hash, without building the whole text (a body may be 10 MB). */
function write(hash: Hash, value: unknown): void {
  if (value === null || typeof value !== 'object') {
    hash.update(JSON.stringify(value) ?? 'null')
    return
  }
  if (Array.isArray(value)) {
    hash.update('[')
    for (const item of value) {
      write(hash, item)
      hash.update(',')
    }
    hash.update(']')
    return
  }
  const object = value as Record<string, unknown>
  hash.update('{')
  for (const key of Object.keys(object).sort()) {
    if (object[key] === undefined) continue
    hash.update(JSON.stringify(key))
    hash.update(':')
    write(hash, object[key])
    hash.update(',')
  }
  hash.update('}')
}
