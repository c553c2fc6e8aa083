// The Responses API → OpenAI's /v1/responses: passthrough. The body goes upstream as the caller
// sent it but for the model id; the answer and every event come back as OpenAI sent them. Usage
// is read from the Response (`response.completed` / `response.incomplete` in a stream).
import type { Response, ResponseUsage } from 'openai/resources/responses/responses'
import { HISTORY_RESOLVED } from '../../core/ingress/responses.ts'
import type { StreamEvent, StreamTranslator, Translator } from '../../core/translator.ts'
import type { Usage } from '../../core/types.ts'
import { GatewayError } from '../../errors.ts'
import { UpstreamStreamError } from '../upstream-errors.ts'

/** Proxies in front of Anthropic may report cache writes too. */
type UsageWithCacheWrite = ResponseUsage & { input_tokens_details?: { cache_creation_input_tokens?: number | null } }

export function usageFromResponses(usage: UsageWithCacheWrite | null | undefined): Usage | undefined {
  if (!usage) return undefined
  return {
    input: usage.input_tokens ?? 0,
    output: usage.output_tokens ?? 0,
    cacheRead: usage.input_tokens_details?.cached_tokens ?? 0,
    cacheWrite: usage.input_tokens_details?.cache_creation_input_tokens ?? 0,
    cacheWrite1h: 0,
    reasoning: usage.output_tokens_details?.reasoning_tokens ?? 0,
  }
}

/** Finish reasons in chat's words, so spans read the same whatever API the caller used. */
export function finishReasonsOf(response: Response): string[] {
  if (response.status === 'incomplete') return [response.incomplete_details?.reason === 'content_filter' ? 'content_filter' : 'length']
  const calls = (response.output ?? []).some((item) => item.type === 'function_call' || item.type === 'custom_tool_call')
  return response.status === 'completed' ? [calls ? 'tool_calls' : 'stop'] : []
}

const FINAL = new Set(['response.completed', 'response.incomplete'])

export const responsesPassthrough: Translator = {
  ingress: 'responses',
  upstream: 'responses',

  request(body, model, stream) {
    let sent = body
    if ((body as { [HISTORY_RESOLVED]?: boolean })[HISTORY_RESOLVED]) {
      // The conversation is in `input` already, and the id is the gateway's own.
      const { previous_response_id: _resolved, ...rest } = body
      sent = rest
    }
    return { body: stream ? { ...sent, model, stream: true } : { ...sent, model } }
  },

  response(upstream) {
    const response = upstream as unknown as Response
    if (response.object !== 'response' || !Array.isArray(response.output)) {
      throw new GatewayError('upstream_error', 'The upstream answered with something that is not a Response')
    }
    return { body: upstream, usage: usageFromResponses(response.usage), model: response.model, id: response.id, finishReasons: finishReasonsOf(response) }
  },

  stream(): StreamTranslator {
    let final: Response | undefined
    let started: Response | undefined
    return {
      push(event: StreamEvent, out: StreamEvent[]) {
        const type = event.data.type
        const response = event.data.response as Response | undefined
        if (type === 'response.created') started = response
        else if (typeof type === 'string' && FINAL.has(type)) final = response
        // A failed response is an upstream error like any other: classified, counted, and
        // answered in the caller's shape by the framer.
        else if (type === 'response.failed') throw new UpstreamStreamError(response?.error ?? event.data)
        out.push(event)
      },
      end() {},
      facts: () => {
        const response = final ?? started
        return {
          usage: usageFromResponses(final?.usage),
          model: response?.model,
          id: response?.id,
          finishReasons: final ? finishReasonsOf(final) : [],
        }
      },
    }
  },
}
