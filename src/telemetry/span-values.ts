// What the gateway's tracer (gateway-tracer.ts) takes as attribute values, and the first
// attributes of a span given as pairs (AttributePairs) instead of an object.
import type { Attributes, AttributeValue, HrTime, Span } from '@opentelemetry/api'

/**
 * A span's first attributes as two arrays of the same length, the keys distinct; an undefined
 * value is not added. The gateway's own spans start with these. An object literal whose keys are
 * the names of names.ts is made key by key: each of them a computed key, which V8 may define
 * through a call into its runtime (0.6–1.0 µs a request in perf's samples), then read back by the
 * tracer with for…in. With pairs the main thread took ~10 µs a request less (bench/RESULTS.md,
 * twenty-third round). The tracer takes the arrays as the span's own (within the span limits): the
 * pairs are made for one span only.
 */
export class AttributePairs {
  readonly keys: string[] = []
  readonly values: AttributeValue[] = []

  /** An object's attributes as pairs (its undefined values left out). */
  static from(attributes: Attributes): AttributePairs {
    const pairs = new AttributePairs()
    for (const key in attributes) pairs.add(key, attributes[key])
    return pairs
  }

  add(key: string, value: AttributeValue | undefined): this {
    if (value !== undefined) {
      this.keys.push(key)
      this.values.push(value)
    }
    return this
  }

  /** span.setAttributes() with these: no object made and read back. */
  setOn(span: Span): void {
    for (let i = 0; i < this.keys.length; i++) span.setAttribute(this.keys[i]!, this.values[i]!)
  }

  /** As an object, for a tracer other than the gateway's (a preloaded SDK's). */
  toObject(): Attributes {
    const attributes: Attributes = {}
    for (let i = 0; i < this.keys.length; i++) attributes[this.keys[i]!] = this.values[i]
    return attributes
  }
}

/**
 * A value the SDK would accept, checked by type alone: the gateway's are strings, numbers,
 * booleans and arrays of them; maps (OTLP AnyValue) are kept as given, unchecked.
 */
export function isValidValue(value: unknown): value is AttributeValue {
  const type = typeof value
  return type === 'string' || type === 'number' || type === 'boolean' || (type === 'object' && value !== null)
}

/** An event attribute's value: the SDK takes only simple values there (no maps). */
export function isSimpleValue(value: unknown): value is AttributeValue {
  const type = typeof value
  if (type === 'string' || type === 'number' || type === 'boolean') return true
  return Array.isArray(value) && value.every((item) => item == null || ['string', 'number', 'boolean'].includes(typeof item))
}

export function truncated(value: AttributeValue, limit: number): AttributeValue {
  if (limit === Infinity) return value
  if (typeof value === 'string') return value.length > limit ? value.slice(0, limit) : value
  if (Array.isArray(value) && value.some((item) => typeof item === 'string' && item.length > limit)) {
    return (value as Array<string | null | undefined>).map((item) => (typeof item === 'string' && item.length > limit ? item.slice(0, limit) : item))
  }
  return value
}

/** addHrTimes(time, millisToHrTime(millis)), the SDK's arithmetic, in one array instead of three. */
export function plusMillis(time: HrTime, millis: number): HrTime {
  let seconds = time[0] + Math.trunc(millis / 1e3)
  let nanos = time[1] + Math.round((millis % 1e3) * 1e6)
  if (nanos >= 1e9) {
    nanos -= 1e9
    seconds += 1
  }
  return [seconds, nanos]
}
