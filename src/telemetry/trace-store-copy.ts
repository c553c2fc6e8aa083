// What the trace store keeps of a span's strings: its own copies, never a reference into a larger
// string. In V8 a `slice()` of 13 characters or more is a view that pins its whole source, and a
// concatenation or template literal of 13 or more is a pair of references to its parts
// (https://issues.chromium.org/issues/41040398): 32 KB cut from a 4 MB captured prompt kept the
// 4 MB alive, and any short attribute sliced out of a large body, any span name or status message
// built around one, would do the same. Shorter strings are always flat copies in V8 already.
import type { Attributes, AttributeValue } from '@opentelemetry/api'

/** Longer strings (captured prompts, when capture is on) are cut in the store, not in the export. */
export const MAX_STORED_STRING_CHARS = 32 * 1024
/** V8 makes slices and concatenations of this many characters or more; shorter strings are flat. */
const MIN_SHARING_CHARS = 13
/** Strings up to this long are shared between spans (routes, models, hosts, user agents repeat). */
const MAX_SHARED_CHARS = 256
const MAX_SHARED_STRINGS = 2048

/**
 * `(' ' + value).slice(1)` makes V8 flatten the concatenation into a fresh string, so the result
 * is a view of that copy only (one character longer), never of `value`'s source: tens of ns for a
 * short string, where a Buffer round trip costs several times that.
 */
function flatCopy(value: string): string {
  return value.length < MIN_SHARING_CHARS ? value : (' ' + value).slice(1)
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

/** Copies for one store. The short strings spans repeat are copied once and shared (bounded). */
export class StringCopies {
  private readonly shared = new Map<string, string>()

  /** The store's own copy of `value`, cut beyond MAX_STORED_STRING_CHARS. */
  string(value: string): string {
    if (value.length < MIN_SHARING_CHARS) return value
    if (value.length <= MAX_SHARED_CHARS) {
      let copy = this.shared.get(value)
      if (copy === undefined) {
        // Ids and other one-off values fill the table too: start over rather than track use.
        if (this.shared.size >= MAX_SHARED_STRINGS) this.shared.clear()
        copy = flatCopy(value)
        this.shared.set(copy, copy)
      }
      return copy
    }
    if (value.length <= MAX_STORED_STRING_CHARS) return flatCopy(value)
    // Not between the two halves of a surrogate pair.
    const end = isHighSurrogate(value.charCodeAt(MAX_STORED_STRING_CHARS - 1)) ? MAX_STORED_STRING_CHARS - 1 : MAX_STORED_STRING_CHARS
    return flatCopy(`${value.slice(0, end)}… [${value.length - end} more characters not kept by the trace store]`)
  }

  /**
   * A copy of `attributes` with every string the store's own. Keys need none: an object key is an
   * internalized string, which V8 copies out of any larger source.
   */
  attributes(attributes: Attributes | undefined): Attributes {
    // A spread is V8's fast clone (a third of the time of building the copy key by key); values
    // are then replaced in place, which adds no keys and keeps the object's shape.
    const copy: Attributes = { ...attributes }
    for (const key in copy) {
      const value = copy[key]
      if (typeof value === 'string' ? value.length >= MIN_SHARING_CHARS : Array.isArray(value)) copy[key] = this.value(value!)
    }
    return copy
  }

  private value(value: AttributeValue): AttributeValue {
    if (typeof value === 'string') return this.string(value)
    if (!Array.isArray(value)) return value
    // Arrays of numbers or booleans hold no strings; arrays of strings are copied item by item.
    if (!value.some((item) => typeof item === 'string')) return value.slice()
    return (value as Array<string | null | undefined>).map((item) => (typeof item === 'string' ? this.string(item) : item))
  }
}
