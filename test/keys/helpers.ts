// Named keys' tests: a keys file written like an operator would (hashes made by src/keys/hash.ts),
// and one call per ingress API, each with its real client: the OpenAI SDK (chat completions,
// responses, embeddings), the Anthropic SDK (messages; its key in x-api-key, or as a Bearer
// token with `authToken`), and fetch for the agent (no SDK speaks it).
import { writeFileSync, renameSync } from 'node:fs'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { hashOf } from '../../src/keys/hash.ts'
import type { Upstream } from '../support/upstream.ts'

export interface KeyEntry {
  id: string
  name: string
  secret: string
  team?: string
  models?: string[]
  revoked?: boolean
  metadata?: Record<string, string>
}

/** The keys file's JSON for these keys: each stored as the hash of its secret, never the secret. */
export function keysFileJson(keys: KeyEntry[], teams: Record<string, unknown> = {}): string {
  return JSON.stringify(
    { keys: keys.map(({ secret, ...entry }) => ({ ...entry, hash: hashOf(secret) })), teams },
    null,
    2,
  )
}

/** Replaces the file as editors do (a new file renamed over the old one). */
export function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text)
  renameSync(`${path}.tmp`, path)
}

/** What a call came back with, whichever the client: the status, and the error body when it failed. */
export interface Outcome {
  status: number
  /** The error's body as the client read it (OpenAI's `{error: {…}}`, Anthropic's `{type: 'error', error: {…}}`). */
  error?: { type?: string; code?: string | null; message?: string } | undefined
  /** Anthropic's top-level `type` of an error body (`error`). */
  anthropicShape?: boolean
}

/** Models served by the emulator, per ingress (the emulator answers any model name with its reply). */
export const MODELS = {
  chat: 'gpt-4o-mini',
  responses: 'gpt-4o-mini',
  embeddings: 'text-embedding-3-small',
  messages: 'claude-3-5-haiku-latest',
  agent: 'demo-chat',
} as const

export type Ingress = keyof typeof MODELS
export const INGRESSES = Object.keys(MODELS) as Ingress[]

export interface CallOptions {
  key: string
  /** How the key travels: `Authorization: Bearer` (default) or `x-api-key`. */
  header?: 'bearer' | 'x-api-key'
  /** The model asked for (default: the ingress's in MODELS). */
  model?: string
  /** Queue the emulator's answer first (a call expected to reach the upstream). */
  upstream?: Upstream
}

function openaiClient(url: string, options: CallOptions): OpenAI {
  const viaHeader = options.header === 'x-api-key'
  return new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: viaHeader ? 'not-the-key' : options.key,
    maxRetries: 0,
    // The OpenAI SDK always sends its apiKey as a Bearer token: drop it to send x-api-key alone.
    defaultHeaders: viaHeader ? { authorization: null as unknown as string, 'x-api-key': options.key } : {},
  })
}

async function outcomeOf(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    await call()
    return { status: 200 }
  } catch (error) {
    const failure = error as { status?: number; error?: Record<string, unknown> }
    if (typeof failure.status !== 'number') throw error
    const body = failure.error ?? {}
    // The OpenAI SDK hands over `error` (the inner object); the Anthropic SDK the whole body.
    const anthropicShape = body.type === 'error'
    const inner = (anthropicShape ? body.error : body) as Outcome['error']
    return { status: failure.status, error: inner, anthropicShape }
  }
}

/** One call on `ingress` through its client. */
export async function callIngress(url: string, ingress: Ingress, options: CallOptions): Promise<Outcome> {
  const model = options.model ?? MODELS[ingress]
  const upstream = options.upstream
  const messages = [{ role: 'user' as const, content: 'hi' }]
  switch (ingress) {
    case 'chat':
      upstream?.enqueueFor('POST /v1/chat/completions', { fixture: 'openai-chat-text-nonstream' })
      return outcomeOf(() => openaiClient(url, options).chat.completions.create({ model, messages }))
    case 'responses':
      upstream?.enqueueFor('POST /v1/responses', { fixture: 'openai-responses-text-nonstream' })
      return outcomeOf(() => openaiClient(url, options).responses.create({ model, input: 'hi' }))
    case 'embeddings':
      upstream?.enqueueFor('POST /v1/embeddings', { embeddings: true })
      return outcomeOf(() => openaiClient(url, options).embeddings.create({ model, input: 'hi' }))
    case 'messages': {
      upstream?.enqueueFor('POST /v1/messages', { fixture: 'anthropic-messages-text-nonstream' })
      const client =
        options.header === 'x-api-key'
          ? new Anthropic({ baseURL: url, apiKey: options.key, maxRetries: 0 })
          : new Anthropic({ baseURL: url, apiKey: null, authToken: options.key, maxRetries: 0 })
      return outcomeOf(() => client.messages.create({ model, max_tokens: 64, messages }))
    }
    case 'agent': {
      const auth = options.header === 'x-api-key' ? { 'x-api-key': options.key } : { authorization: `Bearer ${options.key}` }
      const response = await fetch(`${url}/v1/agents/reasoning`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ model, messages }),
      })
      const body = (await response.json()) as { error?: Outcome['error'] }
      return { status: response.status === 200 ? 200 : response.status, error: body.error, anthropicShape: false }
    }
  }
}

/** Resolves once `check` holds, polling (a file change is seen within the watcher's 1 s poll). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return check()
}

/** A key as POST /admin/keys answers it. */
export interface CreatedKey {
  id: string
  secret: string
  name: string
  team?: string
}

/** The admin API, with `key` (the master key, or another to see it refused). */
export function admin(url: string, key: string) {
  const send = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/admin/keys${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    // Partial<CreatedKey>: a creation's answer is read as a CreatedKey once its status says so.
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & Partial<CreatedKey> }
  }
  return {
    create: (fields: Record<string, unknown>) => send('POST', '', fields),
    list: () => send('GET', ''),
    get: (id: string) => send('GET', `/${id}`),
    revoke: (id: string) => send('DELETE', `/${id}`),
    spend: (id: string) => send('GET', `/${id}/spend`),
  }
}
