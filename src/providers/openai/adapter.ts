// OpenAI and every OpenAI-compatible server (vLLM, Ollama, LM Studio, LiteLLM, …): the body goes
// upstream as the caller sent it, unknown fields included; only the model id changes, and
// streams always ask for usage so the gateway can meter them.
import OpenAI from 'openai'
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions'
import type { CompletionUsage } from 'openai/resources/completions'
import type {
  CallOptions,
  ChatRequest,
  Completion,
  CompletionStream,
  ProviderAdapter,
  Usage,
} from '../../core/types.ts'
import { endpointOf, type UpstreamClientOptions } from '../upstream-client.ts'
import { toGatewayError } from '../upstream-errors.ts'

export interface OpenAICompatibleOptions extends UpstreamClientOptions {
  name: string
  baseURL: string
  apiKey: string | undefined
}

/** Some OpenAI-compatible servers (LiteLLM, proxies in front of Anthropic) report cache writes. */
type UsageWithCacheWrite = CompletionUsage & { cache_creation_input_tokens?: number | null }

export function usageFromOpenAI(usage: UsageWithCacheWrite | null | undefined): Usage | undefined {
  if (!usage) return undefined
  return {
    input: usage.prompt_tokens ?? 0,
    output: usage.completion_tokens ?? 0,
    cacheRead: usage.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWrite: usage.cache_creation_input_tokens ?? 0,
    cacheWrite1h: 0,
    reasoning: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  }
}

export function openAICompatible(options: OpenAICompatibleOptions): ProviderAdapter {
  const client = new OpenAI({
    // Local OpenAI-compatible servers often need no key; the SDK insists on one.
    apiKey: options.apiKey ?? 'no-key',
    baseURL: options.baseURL,
    maxRetries: options.maxRetries,
    timeout: options.firstByteTimeoutMs,
    fetch: options.fetch,
    fetchOptions: options.fetchOptions,
  })
  const fail = (error: unknown) => toGatewayError(options.name, error, options.secrets)

  return {
    name: options.name,
    endpoint: endpointOf(options.baseURL),

    async complete(request: ChatRequest, model: string, { signal }: CallOptions): Promise<Completion> {
      try {
        // The caller's body as sent (no `stream: false` added): only the model id changes.
        const params = { ...request, model } as ChatCompletionCreateParamsNonStreaming
        const body = await client.chat.completions.create(params, { signal })
        return { body, usage: usageFromOpenAI(body.usage) }
      } catch (error) {
        throw fail(error)
      }
    },

    async stream(request: ChatRequest, model: string, { signal }: CallOptions): Promise<CompletionStream> {
      const streamOptions = { ...(request.stream_options ?? {}), include_usage: true }
      let upstream: AsyncIterable<ChatCompletionChunk>
      try {
        upstream = await client.chat.completions.create(
          { ...request, model, stream: true, stream_options: streamOptions },
          { signal },
        )
      } catch (error) {
        throw fail(error)
      }
      let usage: Usage | undefined
      async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
        try {
          for await (const chunk of upstream) {
            if (chunk.usage) usage = usageFromOpenAI(chunk.usage)
            yield chunk
          }
        } catch (error) {
          throw fail(error)
        }
      }
      return { chunks: chunks(), usage: () => usage }
    },
  }
}
