// OpenAI and every OpenAI-compatible server (vLLM, Ollama, LM Studio, LiteLLM, …): the body goes
// upstream as the caller sent it, unknown fields included; only the model id changes, and
// streams always ask for usage so the gateway can meter them. The exchange itself is wire.ts
// (undici, not the SDK: see there why); streamed chunks are parsed once, for telemetry, and
// their JSON text is kept so unchanged chunks are written on as they came.
import type { Readable } from 'node:stream'
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { CompletionUsage } from 'openai/resources/completions'
import type {
  CallOptions,
  ChatRequest,
  Completion,
  CompletionStream,
  ProviderAdapter,
  Usage,
} from '../../core/types.ts'
import { rawChunkJson } from '../../core/chat-stream.ts'
import { GatewayError } from '../../errors.ts'
import { endpointOf, type UpstreamClientOptions } from '../upstream-client.ts'
import { SecretScrubber } from '../../scrub.ts'
import { toGatewayError, UpstreamStreamError } from '../upstream-errors.ts'
import { SseDecoder, type SseEvent } from './sse.ts'
import { OpenAIWire } from './wire.ts'

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
  const wire = new OpenAIWire({
    provider: options.name,
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    maxRetries: options.maxRetries,
    firstByteTimeoutMs: options.firstByteTimeoutMs,
    dispatcher: options.fetchOptions.dispatcher,
  })
  const scrubber = new SecretScrubber(options.secrets, { keyShapes: true })
  const fail = (error: unknown) => toGatewayError(options.name, error, scrubber)

  return {
    name: options.name,
    endpoint: endpointOf(options.baseURL),

    async complete(request: ChatRequest, model: string, { signal }: CallOptions): Promise<Completion> {
      let body: ChatCompletion
      try {
        // The caller's body as sent (no `stream: false` added): only the model id changes.
        body = JSON.parse(await wire.complete(JSON.stringify({ ...request, model }), signal)) as ChatCompletion
      } catch (error) {
        throw fail(error)
      }
      if (typeof body !== 'object' || body === null || !Array.isArray(body.choices)) {
        throw new GatewayError('upstream_error', `${options.name} answered with something that is not a chat completion`)
      }
      return { body, usage: usageFromOpenAI(body.usage) }
    },

    async stream(request: ChatRequest, model: string, { signal }: CallOptions): Promise<CompletionStream> {
      const streamOptions = { ...(request.stream_options ?? {}), include_usage: true }
      const body = JSON.stringify({ ...request, model, stream: true, stream_options: streamOptions })
      let response
      try {
        response = await wire.stream(body, signal)
      } catch (error) {
        throw fail(error)
      }
      const readable = response.body
      let usage: Usage | undefined
      async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
        const decoder = new SseDecoder()
        const events: SseEvent[] = []
        let done = false
        readable.setEncoding('utf8')
        // Not destroyed when we stop at [DONE]: destroying a body before its end aborts the
        // request and closes the keep-alive connection, so the next stream would open a new one.
        const iterator = readable.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<string>
        try {
          for await (const text of iterator) {
            decoder.push(text, events)
            for (const event of events) {
              // As the SDK: [DONE] ends the stream, whatever follows.
              if (event.data === '[DONE]') {
                done = true
                return
              }
              const chunk = chunkOf(event)
              if (chunk.usage) usage = usageFromOpenAI(chunk.usage)
              yield chunk
            }
            events.length = 0
          }
        } catch (error) {
          // Aborted (caller gone, total timeout): the core explains it; nothing to map.
          throw signal.aborted ? error : fail(error)
        } finally {
          if (done) drainQuietly(readable)
          // Stopped early (caller gone, an error): hang up, so the upstream stops generating. The
          // iterator's listeners are gone: without one of ours, the abort error would be unhandled.
          else if (!readable.readableEnded) readable.on('error', noop).destroy()
        }
      }
      return { chunks: chunks(), usage: () => usage }
    },
  }
}

/** After [DONE] the body's end is at most a packet away: read it, unless it does not come. */
function drainQuietly(readable: Readable): void {
  if (readable.readableEnded || readable.destroyed) return
  const timer = setTimeout(() => readable.destroy(), DRAIN_AFTER_DONE_MS).unref()
  readable.once('close', () => clearTimeout(timer))
  readable.on('error', noop)
  readable.resume()
}
const DRAIN_AFTER_DONE_MS = 5000
const noop = () => {}

/** One event's chunk, as the SDK reads it: malformed JSON and error payloads throw. */
function chunkOf(event: SseEvent): ChatCompletionChunk {
  let data: unknown
  try {
    data = JSON.parse(event.data)
  } catch {
    throw new SyntaxError('Error reading response: malformed server-sent event JSON.')
  }
  const error = (data as { error?: unknown } | null)?.error
  if (event.event === 'error') throw new UpstreamStreamError(error ?? data)
  if (error) throw new UpstreamStreamError(error)
  if (event.singleLine && data !== null && typeof data === 'object') rawChunkJson.set(data, event.data)
  return data as ChatCompletionChunk
}
