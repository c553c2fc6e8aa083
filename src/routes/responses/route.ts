// POST /v1/responses, GET and DELETE /v1/responses/{id}: OpenAI's Responses API. To OpenAI the
// call passes through (and so does `previous_response_id`, which OpenAI resolves). To a provider
// without the API (Claude, chat-only servers) it is translated, and the gateway keeps the
// responses it produced so a conversation can continue from one (`store: false` opts out).
import type { FastifyInstance } from 'fastify'
import type { Dispatch } from '../../core/dispatch.ts'
import { HISTORY_RESOLVED, responsesFrames, responsesIngress } from '../../core/ingress/responses.ts'
import type { ProviderAdapter } from '../../core/types.ts'
import { GatewayError } from '../../errors.ts'
import type { CallParent } from '../../telemetry/llm-call.ts'
import { requestContext } from '../../telemetry/server-span.ts'
import { callOptions, callerSignal, sendResult } from '../answer.ts'
import { responsesBodySchema } from './schema.ts'
import { inputItems, type ResponseStore } from './store.ts'

type ResponsesBody = Record<string, unknown> & { model: string; input?: unknown; previous_response_id?: string | null; store?: boolean | null }

function notFound(id: string, param?: string): GatewayError {
  const what = param ? 'Previous response' : 'Response'
  return new GatewayError('not_found', `${what} with id '${id}' not found.`, {
    param: param ?? null,
    code: param ? 'previous_response_not_found' : 'response_not_found',
  })
}

/**
 * The input with every `item_reference` replaced by the item it names, from the responses the
 * gateway kept; the input itself when it has none. An unknown id is the caller's 404.
 */
function resolveReferences(input: unknown[], store: ResponseStore): unknown[] {
  const referenced: string[] = []
  for (const item of input) {
    const reference = item as { type?: unknown; id?: unknown } | null
    if (reference?.type === 'item_reference' && typeof reference.id === 'string') referenced.push(reference.id)
  }
  if (referenced.length === 0 && !input.some((item) => (item as { type?: unknown } | null)?.type === 'item_reference')) return input
  const items = store.itemsById(referenced)
  return input.map((item, index) => {
    const reference = item as { type?: unknown; id?: unknown } | null
    if (reference?.type !== 'item_reference') return item
    const found = typeof reference.id === 'string' ? items.get(reference.id) : undefined
    if (found) return found
    throw new GatewayError('not_found', `Item with id '${String(reference.id)}' not found.`, { param: `input[${index}]`, code: 'item_not_found' })
  })
}

/** `openai`: where responses the gateway did not store are looked up (OpenAI stores its own). */
export function responsesRoutes(app: FastifyInstance, dispatch: Dispatch, store: ResponseStore, openai: ProviderAdapter | undefined): void {
  app.post<{ Body: ResponsesBody }>('/v1/responses', { schema: { body: responsesBodySchema } }, async (request, reply) => {
    const body = request.body
    request.llmModel = body.model
    let sent = body
    let history: unknown[] = []
    const translated = !dispatch.passesThrough(responsesIngress, body.model)
    // What OpenAI would resolve from its own store, the gateway resolves from its: the items
    // referenced by id, then the conversation a previous response ended.
    const input = translated ? resolveReferences(inputItems(body.input), store) : inputItems(body.input)
    if (translated && body.previous_response_id) {
      const earlier = store.history(body.previous_response_id)
      if (!earlier) throw notFound(body.previous_response_id, 'previous_response_id')
      history = earlier
    }
    // The gateway sends the whole conversation. A route group may also hold targets that speak the
    // Responses API: the mark tells them the id is the gateway's, not to be sent on.
    if (translated && (history.length > 0 || input !== body.input)) sent = { ...body, input: [...history, ...input], [HISTORY_RESOLVED]: true }
    const keep = (response: Record<string, unknown>) => {
      if (translated && body.store !== false && typeof response.id === 'string') {
        store.put(response.id, { input, response, previous: body.previous_response_id ?? undefined })
      }
    }
    return sendResult(
      request,
      reply,
      async (signal) => {
        const result = await dispatch.call(responsesIngress, sent, signal, callOptions(request))
        if ('json' in result) keep(result.json)
        return result
      },
      (stream) => responsesFrames(stream, keep),
    )
  })

  const lookup = async (method: 'GET' | 'DELETE', id: string, query: string, signal: AbortSignal, parent: CallParent) => {
    if (store.has(id)) {
      if (method === 'DELETE') {
        store.delete(id)
        return { kept: { id, object: 'response', deleted: true } }
      }
      return { kept: store.get(id)?.response }
    }
    if (!openai?.forward) throw notFound(id)
    try {
      return { forwarded: await openai.forward(method, `/responses/${encodeURIComponent(id)}${query}`, signal, { parent }) }
    } catch (error) {
      // Neither here nor at OpenAI: the caller's 404, whatever OpenAI's error calls it.
      if (error instanceof GatewayError && error.status === 404) throw notFound(id)
      throw error
    }
  }

  for (const method of ['GET', 'DELETE'] as const) {
    app.route<{ Params: { id: string } }>({
      method,
      url: '/v1/responses/:id',
      handler: async (request, reply) => {
        // OpenAI's query parameters (`include[]`, `stream`) pass on as the caller wrote them.
        const search = request.url.indexOf('?')
        const query = search < 0 ? '' : request.url.slice(search)
        const answer = await lookup(method, request.params.id, query, callerSignal(reply.raw), requestContext(request.raw))
        if ('kept' in answer) return answer.kept
        const { status, contentType, body } = answer.forwarded
        return reply.code(status).type(contentType).send(body)
      },
    })
  }
}
