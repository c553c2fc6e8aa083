// The offline demo provider: no model, no network. It answers deterministically from the prompt,
// streams word by word with a small delay, and calls a tool when tools are offered, so a fresh
// clone with no API keys shows a real trace. Every answer says it is a demo.
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions'
import type { CallOptions, ChatRequest, Completion, CompletionStream, ProviderAdapter, Usage } from '../../core/types.ts'
import { emptyUsage } from '../../core/types.ts'
import { GatewayError } from '../../errors.ts'

export const DEMO_MODELS = ['demo-chat', 'demo-reasoner'] as const
const DEMO_LABEL = '[offline demo provider, no model was called]'

interface DemoTurn {
  content: string | null
  reasoning: string | null
  toolCall: { id: string; name: string; arguments: string } | null
}

function textOf(message: ChatCompletionMessageParam | undefined): string {
  const content = message?.content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join(' ')
}

/** Roughly four characters a token, as a stand-in tokenizer: plausible, deterministic. */
function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4))
}

/** A small stable hash, so ids are deterministic for the same prompt. */
function hash(text: string): string {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return (h >>> 0).toString(16).padStart(8, '0')
}

/** Arguments for the offered tool, from its JSON schema: arithmetic goes to `expression`. */
function argumentsFor(tool: ChatCompletionTool, prompt: string): string {
  const schema = (tool.type === 'function' ? tool.function.parameters : undefined) as
    | { properties?: Record<string, { type?: string }>; required?: string[] }
    | undefined
  const args: Record<string, unknown> = {}
  const arithmetic = prompt.match(/[-+*/^%().\d\s]*\d[-+*/^%().\d\s]*/g)?.sort((a, b) => b.length - a.length)[0]?.trim()
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    if (!schema?.required?.includes(name) && name !== 'expression') continue
    if (property.type === 'number' || property.type === 'integer') args[name] = 1
    else if (property.type === 'boolean') args[name] = true
    else args[name] = name === 'expression' && arithmetic ? arithmetic : prompt.slice(0, 200)
  }
  return JSON.stringify(args)
}

/** The offered tool that fits the prompt: the clock for time questions, else arithmetic, else the first. */
function pickTool(tools: ChatCompletionTool[], prompt: string): ChatCompletionTool | undefined {
  const named = (pattern: RegExp) => tools.find((t) => t.type === 'function' && pattern.test(t.function.name))
  if (/\b(time|date|day|clock|hour)\b/i.test(prompt)) return named(/time|clock|date/) ?? tools[0]
  if (/\d\s*[-+*/^%]\s*[\d(]/.test(prompt)) return named(/calc|math|eval/) ?? tools[0]
  return tools[0]
}

/** The name of the tool whose result `message` carries, from the assistant turn that called it. */
function toolNameOf(messages: ChatCompletionMessageParam[], message: ChatCompletionMessageParam): string {
  const id = message.role === 'tool' ? message.tool_call_id : undefined
  for (const m of messages) {
    if (m.role !== 'assistant') continue
    const call = m.tool_calls?.find((c) => c.id === id)
    if (call && call.type === 'function') return call.function.name
  }
  return 'the tool'
}

function planTurn(request: ChatRequest, model: string): DemoTurn {
  const messages = request.messages
  const last = messages[messages.length - 1]
  const tools = (request.tools ?? []).filter((t): t is ChatCompletionTool => t.type === 'function')
  const question = textOf([...messages].reverse().find((m) => m.role === 'user'))
  const reasoning = model === 'demo-reasoner' ? `The user asked: "${question.slice(0, 120)}". ${DEMO_LABEL}` : null
  if (last?.role === 'tool') {
    const result = textOf(last)
    return {
      content: `${DEMO_LABEL} ${toolNameOf(messages, last)} returned ${result}, so the answer is ${result}.`,
      reasoning,
      toolCall: null,
    }
  }
  const tool = request.tool_choice === 'none' ? undefined : pickTool(tools, textOf(last))
  if (tool && tool.type === 'function') {
    const prompt = textOf(last)
    return {
      content: null,
      reasoning,
      toolCall: { id: `call_demo_${hash(prompt + tool.function.name)}`, name: tool.function.name, arguments: argumentsFor(tool, prompt) },
    }
  }
  const echo = textOf(last).slice(0, 200)
  return {
    content: `${DEMO_LABEL} This is sik-llms-gateway's offline demo model. You said: "${echo}". Set OPENAI_API_KEY or ANTHROPIC_API_KEY and ask for a real model to get a real answer.`,
    reasoning,
    toolCall: null,
  }
}

function usageOf(request: ChatRequest, turn: DemoTurn): Usage {
  const prompt = request.messages.map(textOf).join('\n')
  const output = (turn.content ?? '') + (turn.reasoning ?? '') + (turn.toolCall?.arguments ?? '')
  return { ...emptyUsage(), input: tokens(prompt), output: tokens(output), reasoning: turn.reasoning ? tokens(turn.reasoning) : 0 }
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
    endpoint: undefined,

    async complete(request: ChatRequest, model: string, { signal }: CallOptions): Promise<Completion> {
      const turn = planTurn(request, model)
      const usage = usageOf(request, turn)
      await sleep(delay * 5, signal)
      const body = {
        id: `chatcmpl-demo-${hash(JSON.stringify(request.messages))}`,
        object: 'chat.completion' as const,
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            logprobs: null,
            finish_reason: turn.toolCall ? ('tool_calls' as const) : ('stop' as const),
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
      return { body, usage }
    },

    async stream(request: ChatRequest, model: string, { signal }: CallOptions): Promise<CompletionStream> {
      const turn = planTurn(request, model)
      const usage = usageOf(request, turn)
      const id = `chatcmpl-demo-${hash(JSON.stringify(request.messages))}`
      const created = Math.floor(Date.now() / 1000)
      const chunk = (delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk =>
        ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] }) as ChatCompletionChunk
      await sleep(delay * 5, signal)
      async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
        yield chunk({ role: 'assistant', content: '' })
        for (const word of turn.reasoning?.split(/(?<= )/) ?? []) {
          await sleep(delay, signal)
          yield chunk({ reasoning_content: word })
        }
        for (const word of turn.content?.split(/(?<= )/) ?? []) {
          await sleep(delay, signal)
          yield chunk({ content: word })
        }
        if (turn.toolCall) {
          const { id: callId, name, arguments: args } = turn.toolCall
          yield chunk({ tool_calls: [{ index: 0, id: callId, type: 'function', function: { name, arguments: '' } }] })
          await sleep(delay, signal)
          yield chunk({ tool_calls: [{ index: 0, function: { arguments: args } }] })
        }
        yield chunk({}, turn.toolCall ? 'tool_calls' : 'stop')
        yield { id, object: 'chat.completion.chunk', created, model, choices: [], usage: openAIUsage(usage) } as ChatCompletionChunk
      }
      return { chunks: chunks(), usage: () => usage }
    },
  }
}
