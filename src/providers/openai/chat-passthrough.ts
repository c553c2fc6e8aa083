// Chat Completions → an OpenAI(-compatible) chat completions server: passthrough. The body goes
// upstream as the caller sent it (unknown fields included, no `stream: false` added); only the
// model id changes, and streams always ask for usage so the gateway can meter them (whether the
// caller sees the usage chunk is the chat framer's business). Answers come back as sent; usage is
// read from them, never rebuilt.
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { CompletionUsage } from 'openai/resources/completions'
import type { StreamEvent, StreamTranslator, Translator } from '../../core/translator.ts'
import type { Usage } from '../../core/types.ts'
import { GatewayError } from '../../errors.ts'

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

export const chatPassthrough: Translator = {
  ingress: 'chat',
  upstream: 'chat',

  request(body, model, stream) {
    if (!stream) return { body: { ...body, model } }
    const streamOptions = { ...((body.stream_options as object | undefined) ?? {}), include_usage: true }
    return { body: { ...body, model, stream: true, stream_options: streamOptions } }
  },

  response(upstream) {
    const body = upstream as unknown as ChatCompletion
    if (!Array.isArray(body.choices)) {
      throw new GatewayError('upstream_error', 'The upstream answered with something that is not a chat completion')
    }
    return {
      body: upstream,
      usage: usageFromOpenAI(body.usage),
      model: body.model,
      id: body.id,
      finishReasons: body.choices.map((c) => c.finish_reason ?? '').filter(Boolean),
    }
  },

  stream(): StreamTranslator {
    let usage: Usage | undefined
    let model: string | undefined
    let id: string | undefined
    const finishReasons: string[] = []
    return {
      push(event: StreamEvent, out: StreamEvent[]) {
        const chunk = event.data as unknown as ChatCompletionChunk
        model ??= chunk.model
        id ??= chunk.id
        if (chunk.usage) usage = usageFromOpenAI(chunk.usage)
        if (Array.isArray(chunk.choices)) for (const choice of chunk.choices) if (choice.finish_reason) finishReasons.push(choice.finish_reason)
        out.push(event)
      },
      end() {},
      facts: () => ({ usage, model, id, finishReasons }),
    }
  },
}
