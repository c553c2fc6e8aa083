// The offline demo provider: no model, no network. It answers deterministically from the prompt
// (turn.ts), streams word by word with a small delay, and calls a tool when tools are offered, so a
// fresh clone with no API keys shows a real trace. Every answer says it is a demo.
import type { StreamEvent } from '../../core/translator.ts'
import type { ChatRequest, ProviderAdapter, UpstreamReply, Usage } from '../../core/types.ts'
import { emptyUsage } from '../../core/types.ts'
import { GatewayError } from '../../errors.ts'
import { hashMessages, piecesOf, textOf, tokens, tokensOfLength } from './text.ts'
import { planTurn, type DemoTurn } from './turn.ts'

/** The only models the demo serves: the router refuses other `demo-*` names before telemetry sees them. */
export const DEMO_MODELS = ['demo-chat', 'demo-reasoner'] as const

function usageOf(request: ChatRequest, turn: DemoTurn): Usage {
  // The prompt's length without joining it into one string (it may be megabytes).
  let promptLength = Math.max(0, request.messages.length - 1)
  for (const message of request.messages) promptLength += textOf(message).length
  const output = (turn.content ?? '') + (turn.reasoning ?? '') + (turn.toolCall?.arguments ?? '')
  return { ...emptyUsage(), input: tokensOfLength(promptLength), output: tokens(output), reasoning: turn.reasoning ? tokens(turn.reasoning) : 0 }
}

function openAIUsage(usage: Usage) {
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoning },
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(new GatewayError('cancelled', 'the request was cancelled'))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export function demoProvider(options: { tokenDelayMs: number }): ProviderAdapter {
  const delay = options.tokenDelayMs
  return {
    name: 'demo',
    demo: true,
    models: DEMO_MODELS,
    endpoint: undefined,
    apis: ['chat'],

    async send(api, body, stream, signal): Promise<UpstreamReply> {
      if (api !== 'chat') throw new GatewayError('internal', `the demo does not speak the ${api} API`)
      const request = body as ChatRequest
      return stream ? { events: await streamed(request, request.model, signal) } : { json: await complete(request, request.model, signal) }
    },
  }

  async function complete(request: ChatRequest, model: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const turn = planTurn(request, model)
    const usage = usageOf(request, turn)
    await sleep(delay * 5, signal)
    return {
      id: `chatcmpl-demo-${hashMessages(request.messages)}`,
      object: 'chat.completion' as const,
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        {
          index: 0,
          logprobs: null,
          finish_reason: turn.finishReason,
          message: {
            role: 'assistant' as const,
            content: turn.content,
            refusal: null,
            ...(turn.reasoning ? { reasoning_content: turn.reasoning } : {}),
            ...(turn.toolCall
              ? { tool_calls: [{ id: turn.toolCall.id, type: 'function' as const, function: { name: turn.toolCall.name, arguments: turn.toolCall.arguments } }] }
              : {}),
          },
        },
      ],
      usage: openAIUsage(usage),
    }
  }

  async function streamed(request: ChatRequest, model: string, signal: AbortSignal): Promise<AsyncIterable<StreamEvent>> {
    const turn = planTurn(request, model)
    const usage = usageOf(request, turn)
    const id = `chatcmpl-demo-${hashMessages(request.messages)}`
    const created = Math.floor(Date.now() / 1000)
    const chunk = (delta: Record<string, unknown>, finish: string | null = null): StreamEvent => ({
      data: { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] },
    })
    await sleep(delay * 5, signal)
    async function* chunks(): AsyncGenerator<StreamEvent> {
      yield chunk({ role: 'assistant', content: '' })
      for (const piece of piecesOf(turn.reasoning ?? '')) {
        await sleep(delay, signal)
        yield chunk({ reasoning_content: piece })
      }
      for (const piece of piecesOf(turn.content ?? '')) {
        await sleep(delay, signal)
        yield chunk({ content: piece })
      }
      if (turn.toolCall) {
        const { id: callId, name, arguments: args } = turn.toolCall
        yield chunk({ tool_calls: [{ index: 0, id: callId, type: 'function', function: { name, arguments: '' } }] })
        await sleep(delay, signal)
        yield chunk({ tool_calls: [{ index: 0, function: { arguments: args } }] })
      }
      yield chunk({}, turn.finishReason)
      yield { data: { id, object: 'chat.completion.chunk', created, model, choices: [], usage: openAIUsage(usage) } }
    }
    return chunks()
  }
}
