// JSON request bodies: Fastify's parser (prototype-poisoning guard included) with the reason said
// when it refuses a body, a nesting limit, and large bodies handled in slices.
//
// Up to BODY_LIMIT_BYTES (10 MiB by default) of JSON is a few hundred milliseconds of parsing,
// validating and re-serialising on a loaded machine, all of it on the one event loop every other
// caller waits on. A large body is therefore handled in three turns (parse | validate | handle)
// with other callers served in between, and nothing here costs more than one pass over the text.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { invalidRequest } from './errors.ts'

/** Deeper than this is junk, not a request: serialising it again for the upstream would overflow the stack. */
export const MAX_JSON_DEPTH = 128

/** Bodies from this many characters on are handled in slices; smaller ones in one go, as before. */
const LARGE_BODY_CHARS = 256 * 1024

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d

export function registerJsonBodies(app: FastifyInstance): void {
  // JSON only: Fastify's default text/plain parser would hand the schema a string ("must be
  // object") where the caller needs to hear about the content-type (415).
  app.removeContentTypeParser('text/plain')
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const large = new WeakSet<FastifyRequest>()
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
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
      if (nestedBeyond(text, MAX_JSON_DEPTH)) {
        return done(invalidRequest(`The request body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep.`), undefined)
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

/**
 * Whether objects and arrays in `json` (text that JSON.parse accepted) nest more than `limit`
 * levels deep, the outermost being level 1. Read from the text: walking the parsed value
 * (Object.values of every object, level by level) cost as much as parsing it, 200–400 ms for
 * 10 MB of small objects or one object of 500,000 keys. Strings are skipped with indexOf.
 */
export function nestedBeyond(json: string, limit: number): boolean {
  let depth = 0
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (c === QUOTE) {
      i = closingQuote(json, i)
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limit) return true
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--
    }
  }
  return false
}

/** The index of the quote that ends the string opened at `open`. */
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
