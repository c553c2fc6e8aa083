// The Messages API → Anthropic: passthrough. The body goes upstream as the caller sent it but for
// the model id; the answer and every event come back as Anthropic sent them (thinking with its
// signatures, server tools and their results, citations, container and context-management
// fields …). Usage is read from the Message, or from `message_start` and the final
// `message_delta` of a stream (its cumulative counts win), cache writes of both TTLs included.
import type { Message } from '@anthropic-ai/sdk/resources/messages'
import type { StreamEvent, StreamTranslator, Translator } from '../../core/translator.ts'
import { GatewayError } from '../../errors.ts'
import { UpstreamStreamError } from '../upstream-errors.ts'
import { AnthropicStreamUsage } from './stream-usage.ts'
import { finishReason, toGatewayUsage } from './translate-response.ts'

export const messagesPassthrough: Translator = {
  ingress: 'messages',
  upstream: 'messages',

  request(body, model, stream) {
    return { body: stream ? { ...body, model, stream: true } : { ...body, model } }
  },

  response(upstream) {
    const message = upstream as unknown as Message
    if (message.type !== 'message' || !Array.isArray(message.content)) {
      throw new GatewayError('upstream_error', 'The upstream answered with something that is not a Message')
    }
    return {
      body: upstream,
      usage: message.usage ? toGatewayUsage(message.usage) : undefined,
      model: message.model,
      id: message.id,
      finishReasons: [finishReason(message.stop_reason)],
    }
  },

  stream(): StreamTranslator {
    const usage = new AnthropicStreamUsage()
    let model: string | undefined
    let id: string | undefined
    let stopReason: string | null | undefined
    return {
      push(event: StreamEvent, out: StreamEvent[]) {
        const data = event.data as { type?: string; message?: Message; usage?: never; delta?: { stop_reason?: string | null }; error?: unknown }
        switch (data.type) {
          case 'message_start':
            model = data.message?.model
            id = data.message?.id
            if (data.message?.usage) usage.start(data.message.usage)
            break
          case 'message_delta':
            if (data.usage) usage.add(data.usage)
            if (data.delta?.stop_reason !== undefined) stopReason = data.delta.stop_reason
            break
          case 'error':
            throw new UpstreamStreamError(data.error ?? data)
        }
        out.push(event)
      },
      end() {},
      facts: () => ({ usage: usage.usage(), model, id, finishReasons: stopReason === undefined ? [] : [finishReason(stopReason)] }),
    }
  },
}
