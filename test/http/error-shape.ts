// What every error answer must look like to a caller (SPEC §1 "Errors" and "Trace context"):
// OpenAI's `{error: {message, type, param, code}}`, a top-level `trace_context`, and the trace
// headers, with the body's ids matching the headers'.

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
  trace_context: { trace_id: string; span_id: string }
}

/** The subset of tap's assertions used here (keeps this file free of tap's plugin types). */
export interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): boolean
  match(found: unknown, pattern: unknown, message: string): boolean
  ok(found: unknown, message: string): boolean
}

export interface ExpectedError {
  status: number
  type: string
  /** `undefined`: not checked; `null`: must be null. */
  param?: string | null
  code?: string | null
  /** What the message must say (e.g. the field name). */
  message?: RegExp | string
}

/** Reads the body of `response` and checks it against `expected`; returns the parsed body. */
export async function expectError(t: Asserts, response: Response, expected: ExpectedError): Promise<ErrorBody> {
  const text = await response.text()
  t.equal(response.status, expected.status, `status ${expected.status} (got ${response.status}: ${text.slice(0, 300)})`)
  t.match(response.headers.get('content-type'), /application\/json/, 'a JSON body')
  let body: ErrorBody
  try {
    body = JSON.parse(text) as ErrorBody
  } catch {
    t.ok(false, `the error body is JSON: ${text.slice(0, 200)}`)
    return { error: { message: '', type: '', param: null, code: null }, trace_context: { trace_id: '', span_id: '' } }
  }
  t.equal(typeof body.error?.message, 'string', 'error.message is a string')
  t.ok(body.error?.message.length > 0, 'error.message says something')
  t.equal(body.error?.type, expected.type, `error.type is ${expected.type}`)
  t.ok(body.error && 'param' in body.error && 'code' in body.error, 'error carries param and code (OpenAI shape)')
  if (expected.param !== undefined) t.equal(body.error?.param, expected.param, `error.param is ${expected.param}`)
  if (expected.code !== undefined) t.equal(body.error?.code, expected.code, `error.code is ${expected.code}`)
  if (expected.message !== undefined) t.match(body.error?.message, expected.message, 'the message names the problem')
  t.match(body.trace_context?.trace_id, /^[0-9a-f]{32}$/, 'trace_context.trace_id in the body')
  t.match(body.trace_context?.span_id, /^[0-9a-f]{16}$/, 'trace_context.span_id in the body')
  t.equal(response.headers.get('x-trace-id'), body.trace_context?.trace_id, 'x-trace-id header matches the body')
  return body
}
