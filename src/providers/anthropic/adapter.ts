// Anthropic's Messages API behind the OpenAI wire format, through the official SDK. The
// translation itself lives in translate-*.ts; this file only calls.
import Anthropic from '@anthropic-ai/sdk'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { CallOptions, ChatRequest, Completion, CompletionStream, ProviderAdapter } from '../../core/types.ts'
import { SecretScrubber } from '../../scrub.ts'
import { endpointOf, type UpstreamClientOptions } from '../upstream-client.ts'
import { toGatewayError } from '../upstream-errors.ts'
import { toAnthropicRequest } from './translate-request.ts'
import { fromAnthropicMessage } from './translate-response.ts'
import { AnthropicStreamTranslator } from './translate-stream.ts'

export interface AnthropicOptions extends UpstreamClientOptions {
  baseURL: string
  apiKey: string
}

export function anthropicProvider(options: AnthropicOptions): ProviderAdapter {
  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: options.maxRetries,
    timeout: options.firstByteTimeoutMs,
    fetch: options.fetch,
    fetchOptions: options.fetchOptions,
    // The SDK has its own spans and trace-context headers; the gateway records the call itself
    // (llm.anthropic.*) and the undici instrumentation propagates the context, so a request would
    // otherwise carry two `traceparent`s and the tree an extra span.
    openTelemetry: { traces: false, propagation: false },
    // Everything the SDK would log on its own (plain text on the console, where every line of
    // the gateway is JSON) also reaches us as a thrown error, which the gateway reports.
    logLevel: 'off',
  })
  const scrubber = new SecretScrubber(options.secrets, { keyShapes: true })
  const fail = (error: unknown) => toGatewayError('anthropic', error, scrubber)
  // POST /v1/messages as `messages.create` sends it (same retries, timeout and errors) minus its
  // console.warn for deprecated models (`claude-sonnet-4-5`): a plain-text line amid the JSON log.
  const create = <T>(body: object, signal: AbortSignal, stream: boolean) =>
    client.post<T>('/v1/messages', { body, signal, stream })

  return {
    name: 'anthropic',
    endpoint: endpointOf(options.baseURL),

    async complete(request: ChatRequest, model: string, { signal }: CallOptions): Promise<Completion> {
      const { params, forcedJsonTool } = toAnthropicRequest(request, model)
      try {
        const message = await create<Anthropic.Message>(params, signal, false)
        return fromAnthropicMessage(message, forcedJsonTool ? { forcedJsonTool } : {})
      } catch (error) {
        throw fail(error)
      }
    },

    async stream(request: ChatRequest, model: string, { signal }: CallOptions): Promise<CompletionStream> {
      const { params, forcedJsonTool } = toAnthropicRequest(request, model)
      const translator = new AnthropicStreamTranslator(forcedJsonTool ? { forcedJsonTool } : {})
      let upstream: AsyncIterable<Anthropic.RawMessageStreamEvent>
      try {
        upstream = await create<AsyncIterable<Anthropic.RawMessageStreamEvent>>({ ...params, stream: true }, signal, true)
      } catch (error) {
        throw fail(error)
      }
      async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
        try {
          for await (const event of upstream) yield* translator.push(event)
        } catch (error) {
          throw fail(error)
        }
      }
      return { chunks: chunks(), usage: () => translator.usage() }
    },
  }
}
