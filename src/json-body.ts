// JSON request bodies: Fastify's parser (prototype-poisoning guard included) with the reason said
// when it refuses a body, and limits on what a body may hold, so that no body can hold the one
// event loop every other caller waits on.
//
// Up to BODY_LIMIT_BYTES (10 MiB by default) of text is cheap to parse when it is a few big
// strings (a prompt, a base64 image): what costs is structure. 10 MB of small objects is ~700,000
// of them, and every step (parsing, validating, translating, serialising for the upstream) is then
// 100–400 ms of a blocked event loop; before the fixes of issue 10 some steps were quadratic on
// top. So a body may hold at most MAX_JSON_ITEMS items (array elements and object members, far
// beyond any context window: 1,000 messages with tool calls are ~10,000) and nest MAX_JSON_DEPTH
// levels; both are read from the text in one pass before it is parsed. A large body is also handled
// in three turns of the event loop (parse | validate | handle), other callers served in between.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { GatewayError, invalidRequest } from './errors.ts'

/** Deeper than this is junk, not a request: serialising it again for the upstream would overflow the stack. */
export const MAX_JSON_DEPTH = 128
/** Array elements and object members in one body. */
export const MAX_JSON_ITEMS = 100_000

/** Bodies from this many characters on are handled in slices; smaller ones in one go. */
const LARGE_BODY_CHARS = 256 * 1024

export function registerJsonBodies(app: FastifyInstance): void {
  // JSON only: Fastify's default text/plain parser would hand the schema a string ("must be
  // object") where the caller needs to hear about the content-type (415).
  app.removeContentTypeParser('text/plain')
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const large = new WeakSet<FastifyRequest>()
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    const excess = beyondLimits(text)
    if (excess) return done(excess, undefined)
    parseJson(request, text, (error: Error | null, value?: unknown) => {
      if (error) {
        if ((error as FastifyError).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return done(error, undefined)
        try {
          JSON.parse(text)
        } catch (syntax) {
          return done(invalidRequest(`The request body is not valid JSON: ${(syntax as Error).message}`), undefined)
        }
        return done(invalidRequest('The request body contains a `__proto__` or `constructor.prototype` key, which is refused.'), undefined)
      }
      if (text.length < LARGE_BODY_CHARS) return done(null, value)
      // Validation would follow on this same turn of the event loop: other callers go first.
      large.add(request)
      setImmediate(done, null, value)
    })
  })
  // Between validation and the handler (translation, serialising for the upstream), likewise.
  app.addHook('preHandler', (request, _reply, next) => {
    if (large.has(request)) setImmediate(next)
    else next()
  })
}

/** The error for a body past MAX_JSON_DEPTH or MAX_JSON_ITEMS, if it is. */
function beyondLimits(json: string): GatewayError | undefined {
  const shape = jsonShape(json, MAX_JSON_DEPTH, MAX_JSON_ITEMS)
  if (shape === 'too deep') return invalidRequest(`The request body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep.`)
  if (shape === 'too many items') {
    return new GatewayError(
      'payload_too_large',
      `The request body holds more than ${MAX_JSON_ITEMS.toLocaleString('en')} items (array elements and object members).`,
    )
  }
  return undefined
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d

/**
 * Whether JSON text nests objects and arrays more than `maxDepth` levels deep (the outermost is
 * level 1) or holds more than `maxItems` items, counted as its commas and containers (an upper
 * bound on elements and members). One pass, nothing allocated, strings skipped with indexOf: a few
 * ms for 10 MB. Walking the parsed value instead cost as much as parsing it.
 */
export function jsonShape(json: string, maxDepth: number, maxItems: number): 'too deep' | 'too many items' | 'within limits' {
  let depth = 0
  let items = 0
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (c === QUOTE) {
      i = closingQuote(json, i)
    } else if (c === COMMA) {
      if (++items > maxItems) return 'too many items'
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return 'too deep'
      if (++items > maxItems) return 'too many items'
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--
    }
  }
  return 'within limits'
}

/** The index of the quote that ends the string opened at `open` (the end of the text if none does). */
function closingQuote(json: string, open: number): number {
  let at = json.indexOf('"', open + 1)
  // A quote after an odd number of backslashes is escaped: part of the string.
  while (at > 0 && escaped(json, at)) at = json.indexOf('"', at + 1)
  return at < 0 ? json.length : at
}

function escaped(json: string, quote: number): boolean {
  let backslashes = 0
  for (let i = quote - 1; json.charCodeAt(i) === BACKSLASH; i--) backslashes++
  return backslashes % 2 === 1
}
