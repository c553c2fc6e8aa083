// Chat Completions (ingress) → Anthropic Messages (upstream): the translator the dispatch uses
// for an OpenAI-shaped call to a Claude model. The work is in translate-*.ts; this file fits it
// to the translator contract (src/core/translator.ts).
import type { Message } from '@anthropic-ai/sdk/resources/messages'
import type { StreamEvent, StreamTranslator, Translator } from '../../core/translator.ts'
import type { ChatRequest } from '../../core/types.ts'
import { JSON_RESPONSE_TOOL, toAnthropicRequest } from './translate-request.ts'
import { fromAnthropicMessage } from './translate-response.ts'
import { AnthropicStreamTranslator, type AnthropicStreamEvent } from './translate-stream.ts'

/**
 * The tool whose input is the answer (response_format enforced through tool use), or undefined.
 * toAnthropicRequest adds it for JSON formats unless the model has native structured outputs, in
 * which case no tool of that name is in the answer and the name is harmless.
 */
function forcedJsonTool(request: Record<string, unknown>): string | undefined {
  const format = (request as ChatRequest).response_format?.type
  if (format !== 'json_object' && format !== 'json_schema') return undefined
  const own = ((request as ChatRequest).tools ?? []).some((tool) => 'function' in tool && tool.function?.name === JSON_RESPONSE_TOOL)
  return own ? undefined : JSON_RESPONSE_TOOL
}

export const chatToMessages: Translator = {
  ingress: 'chat',
  upstream: 'messages',

  request(body, model, stream) {
    const { params } = toAnthropicRequest(body as ChatRequest, model)
    return { body: stream ? { ...params, stream: true } : (params as unknown as Record<string, unknown>) }
  },

  response(upstream, request) {
    const tool = forcedJsonTool(request)
    const { body, usage } = fromAnthropicMessage(upstream as unknown as Message, tool ? { forcedJsonTool: tool } : {})
    return {
      body: body as unknown as Record<string, unknown>,
      usage,
      model: body.model,
      id: body.id,
      finishReasons: body.choices.map((c: { finish_reason: string | null }) => c.finish_reason ?? '').filter(Boolean),
    }
  },

  stream(request): StreamTranslator {
    const tool = forcedJsonTool(request)
    const translator = new AnthropicStreamTranslator(tool ? { forcedJsonTool: tool } : {})
    let model: string | undefined
    let id: string | undefined
    const finishReasons: string[] = []
    return {
      push(event: StreamEvent, out: StreamEvent[]) {
        for (const chunk of translator.push(event.data as unknown as AnthropicStreamEvent)) {
          model ??= chunk.model
          id ??= chunk.id
          for (const choice of chunk.choices) if (choice.finish_reason) finishReasons.push(choice.finish_reason)
          out.push({ data: chunk as unknown as Record<string, unknown> })
        }
      },
      end() {},
      facts: () => ({ usage: translator.usage(), model, id, finishReasons }),
    }
  },
}
