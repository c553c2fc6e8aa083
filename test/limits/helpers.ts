// Limits' tests over HTTP: one call on any ingress API, JSON or streamed, with its real client
// (the OpenAI SDK for chat completions, responses and embeddings; the Anthropic SDK for messages;
// fetch for the agent, which no SDK speaks), answered as the client saw it: status, headers, the
// error body and the cost the gateway reported.
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import type { Upstream } from '../support/upstream.ts'

export type Ingress = 'chat' | 'responses' | 'embeddings' | 'messages' | 'agent'
export const INGRESSES: Ingress[] = ['chat', 'responses', 'embeddings', 'messages', 'agent']
/** The ingress APIs that stream. */
export const STREAMING: Ingress[] = ['chat', 'responses', 'messages', 'agent']

/** What each ingress asks for (the emulator answers any name; the agent's demo model needs no upstream). */
export const MODELS: Record<Ingress, string> = {
  chat: 'gpt-4o-mini',
  responses: 'gpt-4o-mini',
  embeddings: 'text-embedding-3-small',
  messages: 'claude-3-5-haiku-latest',
  agent: 'demo-chat',
}

export interface Answer {
  status: number
  headers: Headers
  /** The error as the client read it: OpenAI's inner `error`, or Anthropic's `error` with `anthropicShape`. */
  error?: { type?: string; code?: string | null; message?: string } | undefined
  anthropicShape?: boolean
  /** usage.cost_usd of a JSON chat completion. */
  costUsd?: number | undefined
}

export interface AskOptions {
  key: string
  stream?: boolean
  model?: string
  /** Queue the emulator's answer (a call expected to reach the upstream). */
  upstream?: Upstream | undefined
}

const FIXTURES: Partial<Record<Ingress, [string, string, string]>> = {
  chat: ['POST /v1/chat/completions', 'openai-chat-text-nonstream', 'openai-chat-text-stream-include-usage'],
  responses: ['POST /v1/responses', 'openai-responses-text-nonstream', 'openai-responses-text-stream'],
  messages: ['POST /v1/messages', 'anthropic-messages-text-nonstream', 'anthropic-messages-text-stream'],
}

function refused(error: unknown): Answer {
  const failure = error as { status?: number; headers?: Headers; error?: Record<string, unknown> }
  if (typeof failure.status !== 'number') throw error
  const body = failure.error ?? {}
  const anthropicShape = body.type === 'error'
  return { status: failure.status, headers: failure.headers ?? new Headers(), error: (anthropicShape ? body.error : body) as Answer['error'], anthropicShape }
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // read to the end: the call settles when the stream does
  }
}

/** One call on `ingress`; a refusal is an Answer, not a throw. */
export async function ask(url: string, ingress: Ingress, options: AskOptions): Promise<Answer> {
  const model = options.model ?? MODELS[ingress]
  const stream = options.stream === true
  const fixture = FIXTURES[ingress]
  if (fixture) options.upstream?.enqueueFor(fixture[0], { fixture: stream ? fixture[2] : fixture[1] })
  if (ingress === 'embeddings') options.upstream?.enqueueFor('POST /v1/embeddings', { embeddings: true })
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: options.key, maxRetries: 0 })
  const messages = [{ role: 'user' as const, content: 'hi' }]
  try {
    switch (ingress) {
      case 'chat': {
        if (stream) {
          const { data, response } = await openai.chat.completions.create({ model, messages, stream, stream_options: { include_usage: true } }).withResponse()
          await drain(data)
          return { status: response.status, headers: response.headers }
        }
        const { data, response } = await openai.chat.completions.create({ model, messages }).withResponse()
        return { status: response.status, headers: response.headers, costUsd: (data.usage as { cost_usd?: number } | undefined)?.cost_usd }
      }
      case 'responses': {
        const { data, response } = await openai.responses.create({ model, input: 'hi', stream }).withResponse()
        if (stream) await drain(data as AsyncIterable<unknown>)
        return { status: response.status, headers: response.headers }
      }
      case 'embeddings': {
        const { response } = await openai.embeddings.create({ model, input: 'hi' }).withResponse()
        return { status: response.status, headers: response.headers }
      }
      case 'messages': {
        const anthropic = new Anthropic({ baseURL: url, apiKey: options.key, maxRetries: 0 })
        const { data, response } = await anthropic.messages.create({ model, max_tokens: 64, messages, stream }).withResponse()
        if (stream) await drain(data as AsyncIterable<unknown>)
        return { status: response.status, headers: response.headers }
      }
      case 'agent': {
        const response = await fetch(`${url}/v1/agents/reasoning`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.key}` },
          body: JSON.stringify({ model, messages, stream }),
        })
        const text = await response.text()
        const error = response.status === 200 ? undefined : (JSON.parse(text) as { error: Answer['error'] }).error
        return { status: response.status, headers: response.headers, error, anthropicShape: false }
      }
    }
  } catch (error) {
    return refused(error)
  }
}

/** Waits, if need be, until the current minute has `ms` left: a test counting within one minute must not straddle two. */
export async function awayFromMinuteEdge(ms = 20_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < ms) await new Promise((resolve) => setTimeout(resolve, left + 50))
}
