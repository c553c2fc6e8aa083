// The one error table answers in both APIs' words: OpenAI's type on the OpenAI routes, Anthropic's
// on /v1/messages, so each SDK raises its own error class.
import t from 'tap'
import { ERRORS, GatewayError, type ErrorKind } from '../../src/errors.ts'

const ANTHROPIC_TYPES = new Set(['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'request_too_large', 'rate_limit_error', 'api_error', 'overloaded_error'])

t.test("every kind has an Anthropic type from Anthropic's own list", async (t) => {
  for (const kind of Object.keys(ERRORS) as ErrorKind[]) {
    t.ok(ANTHROPIC_TYPES.has(ERRORS[kind].anthropic), `${kind}: ${ERRORS[kind].anthropic}`)
  }
})

t.test("Anthropic's shape: type, message, and a 413 named as Anthropic names it whatever kind carried it", async (t) => {
  t.same(new GatewayError('unauthorized', 'Unknown gateway API key.').toAnthropicBody(), {
    type: 'error',
    error: { type: 'authentication_error', message: 'Unknown gateway API key.' },
  })
  t.equal(new GatewayError('upstream_overloaded', 'busy').toAnthropicBody().error.type, 'overloaded_error')
  t.equal(new GatewayError('invalid_request', 'too big', { status: 413 }).toAnthropicBody().error.type, 'request_too_large', "an upstream 413 passed on as invalid_request")
})
