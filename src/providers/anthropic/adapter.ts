// Anthropic's Messages API: one HTTP exchange per call to `{baseURL}/v1/messages`, with the
// headers its SDK sends. Chat and Responses callers reach it through translators (from-*.ts).
import type { ProviderAdapter, UpstreamReply } from '../../core/types.ts'
import { GatewayError } from '../../errors.ts'
import { SecretScrubber } from '../../scrub.ts'
import { HttpUpstream } from '../http-upstream.ts'
import { endpointOf, type UpstreamClientOptions } from '../upstream-client.ts'
import { mapErrors, toGatewayError } from '../upstream-errors.ts'

export interface AnthropicOptions extends UpstreamClientOptions {
  baseURL: string
  apiKey: string
}

/** The API version the translators are written for (the SDK's default). */
export const ANTHROPIC_VERSION = '2023-06-01'

export function anthropicProvider(options: AnthropicOptions): ProviderAdapter {
  const http = new HttpUpstream({
    provider: 'anthropic',
    baseURL: options.baseURL,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'sik-llms-gateway',
      'x-api-key': options.apiKey,
      'anthropic-version': ANTHROPIC_VERSION,
    },
    firstByteTimeoutMs: options.firstByteTimeoutMs,
    dispatcher: options.dispatcher,
  })
  const scrubber = new SecretScrubber(options.secrets, { keyShapes: true, remember: true })
  const fail = (error: unknown) => toGatewayError('anthropic', error, scrubber)

  return {
    name: 'anthropic',
    endpoint: endpointOf(options.baseURL),
    explain: fail,
    apis: ['messages'],

    async send(api, body, stream, signal, options): Promise<UpstreamReply> {
      if (api !== 'messages') throw new GatewayError('internal', `anthropic does not speak the ${api} API`)
      try {
        const text = JSON.stringify(body)
        if (!stream) return { json: await http.json('/v1/messages', text, signal, options) }
        return { events: mapErrors(await http.events('/v1/messages', text, signal, options), signal, fail) }
      } catch (error) {
        throw signal.aborted ? error : fail(error)
      }
    },

    async countTokens(body, signal, options) {
      try {
        return await http.json('/v1/messages/count_tokens', JSON.stringify(body), signal, options)
      } catch (error) {
        throw signal.aborted ? error : fail(error)
      }
    },
  }
}
