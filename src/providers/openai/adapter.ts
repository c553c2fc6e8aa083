// OpenAI and every OpenAI-compatible server (vLLM, Ollama, LM Studio, LiteLLM, …): one HTTP
// exchange per call on the API's path under the base URL. OpenAI itself speaks Chat Completions,
// the Responses API and embeddings; a compatible server is taken to speak chat and embeddings
// (a Responses call to it is translated to chat; see src/providers/translators.ts).
import type { Api } from '../../core/translator.ts'
import type { ProviderAdapter, UpstreamReply } from '../../core/types.ts'
import { GatewayError } from '../../errors.ts'
import { SecretScrubber } from '../../scrub.ts'
import { HttpUpstream } from '../http-upstream.ts'
import { endpointOf, type UpstreamClientOptions } from '../upstream-client.ts'
import { mapErrors, toGatewayError } from '../upstream-errors.ts'

export interface OpenAICompatibleOptions extends UpstreamClientOptions {
  name: string
  baseURL: string
  apiKey: string | undefined
  /** The APIs the server speaks (default: chat and embeddings; OpenAI adds responses). */
  apis?: readonly Api[]
}

const PATHS: Partial<Record<Api, string>> = {
  chat: '/chat/completions',
  responses: '/responses',
  embeddings: '/embeddings',
}

export function openAICompatible(options: OpenAICompatibleOptions): ProviderAdapter {
  const http = new HttpUpstream({
    provider: options.name,
    baseURL: options.baseURL,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'sik-llms-gateway',
      // Local OpenAI-compatible servers often need no key; send what the SDK sent then.
      authorization: `Bearer ${options.apiKey ?? 'no-key'}`,
    },
    firstByteTimeoutMs: options.firstByteTimeoutMs,
    dispatcher: options.dispatcher,
  })
  const scrubber = new SecretScrubber(options.secrets, { keyShapes: true, remember: true })
  const fail = (error: unknown) => toGatewayError(options.name, error, scrubber)
  const apis = options.apis ?? ['chat', 'embeddings']

  return {
    name: options.name,
    endpoint: endpointOf(options.baseURL),
    explain: fail,
    apis,

    async send(api, body, stream, signal, sendOptions): Promise<UpstreamReply> {
      const path = PATHS[api]
      if (!path || !apis.includes(api)) throw new GatewayError('internal', `${options.name} does not speak the ${api} API`)
      // Only the upstream span's parent: no caller header passes on to an OpenAI-compatible server.
      const parent = { parent: sendOptions?.parent }
      try {
        const text = JSON.stringify(body)
        if (!stream) return { json: await http.json(path, text, signal, parent) }
        return { events: mapErrors(await http.events(path, text, signal, parent), signal, fail) }
      } catch (error) {
        throw signal.aborted ? error : fail(error)
      }
    },

    async forward(method, path, signal, forwardOptions) {
      try {
        return await http.forward(method, path, signal, { parent: forwardOptions?.parent })
      } catch (error) {
        throw signal.aborted ? error : fail(error)
      }
    },
  }
}
