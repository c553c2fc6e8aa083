// POST /v1/messages and POST /v1/messages/count_tokens: Anthropic's Messages API, for Claude Code
// and the Anthropic SDKs (`ANTHROPIC_BASE_URL` = the gateway). To Anthropic it passes through, with
// the caller's `anthropic-version` and `anthropic-beta`; to OpenAI and OpenAI-compatible models it
// is translated. Errors in Anthropic's shape. The caller's key (x-api-key or a bearer token) is
// the gateway's to check and never goes on.
import type { FastifyInstance } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatch } from '../../core/dispatch.ts'
import { messagesFrames, messagesIngress } from '../../core/ingress/messages.ts'
import type { ModelRouter } from '../../core/router.ts'
import { GatewayError } from '../../errors.ts'
import { requestContext } from '../../telemetry/server-span.ts'
import { callOptions, callerSignal, sendResult } from '../answer.ts'
import { countTokensBodySchema, messagesBodySchema } from './schema.ts'

type MessagesBody = Record<string, unknown> & { model: string }

/** The caller's headers that go on to Anthropic: the API version and the betas it asks for. */
const PASSED_ON = ['anthropic-version', 'anthropic-beta'] as const

function passedOn(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  let out: Record<string, string> | undefined
  for (const name of PASSED_ON) {
    const value = headers[name]
    if (typeof value === 'string' && value !== '') (out ??= {})[name] = value
  }
  return out
}

const anthropicErrors = { errorShape: 'messages' } as const

export function messagesRoutes(app: FastifyInstance, dispatch: Dispatch, router: ModelRouter): void {
  app.post<{ Body: MessagesBody }>('/v1/messages', { schema: { body: messagesBodySchema }, config: anthropicErrors }, async (request, reply) => {
    const body = request.body
    request.llmModel = body.model
    const passthroughHeaders = passedOn(request.headers)
    return sendResult(request, reply, (signal) => dispatch.call(messagesIngress, body, signal, { ...callOptions(request), passthroughHeaders }), messagesFrames)
  })

  app.post<{ Body: MessagesBody }>(
    '/v1/messages/count_tokens',
    { schema: { body: countTokensBodySchema }, config: anthropicErrors },
    async (request, reply) => {
      const body = request.body
      request.llmModel = body.model
      const route = router.resolve(body.model)
      if (!route.adapter.countTokens) {
        // A count the provider did not make would be a guess: the caller is told instead.
        throw new GatewayError(
          'invalid_request',
          `The model \`${body.model}\` (provider ${route.adapter.name}) has no token-counting endpoint; the gateway does not guess counts.`,
          { param: 'model', code: 'count_tokens_unsupported' },
        )
      }
      return route.adapter.countTokens({ ...body, model: route.model }, callerSignal(reply.raw), {
        headers: passedOn(request.headers),
        parent: requestContext(request.raw),
      })
    },
  )
}
