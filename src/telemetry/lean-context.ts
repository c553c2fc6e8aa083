// The OpenTelemetry Context the gateway's requests run in: each value set is a node pointing at
// the context it was set on, and reads walk up to the nearest. The API's own (BaseContext) copies
// a Map on every set and makes three closures per context, stored on it. With Node 24's V8 those
// closures made the scavenger keep every request's objects alive until a full GC (a request makes
// five contexts: bench/RESULTS.md, issue 15); here the methods are on the prototype.
import { context, ROOT_CONTEXT, type Context } from '@opentelemetry/api'

/** Past this many values set one on another, a set first flattens the chain (one node per key). */
const MAX_DEPTH = 32

export class LeanContext implements Context {
  private readonly parent: LeanContext | undefined
  private readonly key: symbol | undefined
  private readonly value: unknown
  private readonly depth: number

  constructor(parent: LeanContext | undefined, key: symbol | undefined, value: unknown) {
    this.parent = parent
    this.key = key
    this.value = value
    this.depth = parent ? parent.depth + 1 : 0
  }

  getValue(key: symbol): unknown {
    for (let node: LeanContext | undefined = this; node !== undefined; node = node.parent) {
      if (node.key === key) return node.value
    }
    return undefined
  }

  setValue(key: symbol, value: unknown): Context {
    return new LeanContext(this.depth < MAX_DEPTH ? this : this.flattened(), key, value)
  }

  /** A deleted key reads as unset: the node that says so hides the ones above it. */
  deleteValue(key: symbol): Context {
    return this.getValue(key) === undefined ? this : this.setValue(key, undefined)
  }

  /** The same values, one node per key still set. */
  private flattened(): LeanContext {
    const seen = new Set<symbol>()
    let out = LEAN_ROOT
    for (let node: LeanContext | undefined = this; node !== undefined; node = node.parent) {
      if (node.key === undefined || seen.has(node.key)) continue
      seen.add(node.key)
      if (node.value !== undefined) out = new LeanContext(out, node.key, node.value)
    }
    return out
  }
}

/** The context with nothing set, where a request's own (its caller's trace context, its span) starts. */
export const LEAN_ROOT = new LeanContext(undefined, undefined, undefined)

/**
 * The active context, or LEAN_ROOT where the API would give its empty BaseContext (the gateway's
 * own request contexts are handed over, not entered: server-span.ts; and always with telemetry
 * off): what the gateway derives its contexts from when it is given none.
 */
export function activeContext(): Context {
  const active = context.active()
  return active === ROOT_CONTEXT ? LEAN_ROOT : active
}
