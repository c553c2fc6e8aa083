// The three APIs the bench calls the gateway with, each the same question: OpenAI's Chat
// Completions, OpenAI's Responses API and Anthropic's Messages API. For each: where it is posted,
// the request (JSON or streamed), what ends a complete stream, and the usage an answer reports.
import { chatBody, type Target } from './load.ts'

export interface Ingress {
  /** Short name, in labels and keys. */
  name: 'chat' | 'responses' | 'messages'
  path: string
  headers: Record<string, string>
  /** `withUsage`: asking every answer to say its usage (Chat Completions streams do only when asked). */
  body(stream: boolean, withUsage?: boolean): string
  /** What the last event of a complete stream holds. */
  streamEnd: string
  /** The tokens an answer (a JSON body, or a whole stream as received) says it used. */
  usage(answer: string, stream: boolean): { input: number; output: number } | undefined
}

const SYSTEM = 'You are a concise assistant.'
const QUESTION = 'In two sentences: what does an LLM gateway add to each request, and why trace it?'

/** The `data:` payloads of an SSE body, parsed. */
function events(body: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
    out.push(JSON.parse(line.slice(6)) as Record<string, unknown>)
  }
  return out
}

type Counts = { input: number; output: number } | undefined

export const CHAT: Ingress = {
  name: 'chat',
  path: '/v1/chat/completions',
  headers: {},
  body: (stream, withUsage) => chatBody(stream, stream && withUsage ? { stream_options: { include_usage: true } } : {}),
  streamEnd: 'data: [DONE]',
  usage(answer, stream) {
    // A stream says its usage in its last chunk when the caller asks (stream_options.include_usage).
    const usage = (stream ? events(answer).findLast((e) => e.usage) : JSON.parse(answer))?.usage as { prompt_tokens: number; completion_tokens: number } | undefined
    return usage && { input: usage.prompt_tokens, output: usage.completion_tokens }
  },
}

export const RESPONSES: Ingress = {
  name: 'responses',
  path: '/v1/responses',
  headers: {},
  body: (stream) => JSON.stringify({ model: 'gpt-4o-mini', instructions: SYSTEM, input: QUESTION, ...(stream ? { stream: true } : {}) }),
  streamEnd: 'event: response.completed',
  usage(answer, stream) {
    const response = (stream ? events(answer).find((e) => e.type === 'response.completed')?.response : JSON.parse(answer)) as { usage?: { input_tokens: number; output_tokens: number } } | undefined
    return response?.usage && { input: response.usage.input_tokens, output: response.usage.output_tokens }
  },
}

export const MESSAGES: Ingress = {
  name: 'messages',
  path: '/v1/messages',
  headers: { 'anthropic-version': '2023-06-01' },
  body: (stream) =>
    JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 256, system: SYSTEM, messages: [{ role: 'user', content: QUESTION }], ...(stream ? { stream: true } : {}) }),
  streamEnd: 'event: message_stop',
  usage(answer, stream): Counts {
    type Usage = { input_tokens?: number; cache_creation_input_tokens?: number; cache_read_input_tokens?: number; output_tokens?: number }
    // Input as the gateway counts it: uncached, cache writes and cache reads together.
    const input = (u: Usage) => (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0)
    if (!stream) {
      const usage = (JSON.parse(answer) as { usage?: Usage }).usage
      return usage && { input: input(usage), output: usage.output_tokens ?? 0 }
    }
    // message_start says the input; message_delta's counts are cumulative and win.
    const all = events(answer)
    const start = (all.find((e) => e.type === 'message_start')?.message as { usage?: Usage } | undefined)?.usage
    const delta = all.findLast((e) => e.type === 'message_delta')?.usage as Usage | undefined
    if (!start) return undefined
    const merged = { ...start, ...delta }
    return { input: input(merged), output: merged.output_tokens ?? 0 }
  },
}

/** The API the `API` environment variable names (chat, responses or messages; chat when unset), as the A/B scripts take it. */
export function ingressFromEnv(): Ingress {
  const ingress = [CHAT, RESPONSES, MESSAGES].find((api) => api.name === (process.env.API ?? 'chat'))
  if (!ingress) throw new Error('API must be chat, responses or messages')
  return ingress
}

/** The load target of a gateway at `url` called with this API's request. */
export function ingressTarget(url: string, ingress: Ingress): Target {
  return { url, path: ingress.path, headers: ingress.headers, body: (stream) => ingress.body(stream) }
}
