// Shared by the client tests (openai SDK, Vercel AI SDK, OpenAI Agents SDK through /v1/responses):
// one gateway in front of the emulated OpenAI and Anthropic, a fetch that records what the client
// itself sent (so "passed through" compares with the client's body, not with a guess of it), and
// what the recordings say: answer text and usage as OpenAI or Anthropic counted them.
import type { Test } from 'tap'
import { z } from 'zod'
import { loadFixture } from '../support/fixtures.ts'
import { responseSseToJson } from '../support/fixture-variants-responses.ts'
import { recordedAsStream } from '../support/fixture-variants.ts'
import { startGateway, type GatewayProcess } from '../support/gateway.ts'
import { providerEnv, sseEvents, startUpstream, type CustomReply, type Upstream } from '../support/upstream.ts'

type Json = Record<string, unknown>

export const DEMO_LABEL = /offline demo provider, no model was called/

/** The schema the structured-output tests ask for, and the JSON a real model gave for it (openai-chat-json-schema-nonstream). */
export const Joke = z.object({ rating: z.int().min(1).max(5), joke: z.string() })
export const JOKE = { rating: 4, joke: 'Why was the OpenTelemetry developer always relaxed? \n\nBecause they knew how to handle *tracing* amounts of stress! 🤖' }

export async function startClientGateway(t: Test): Promise<{ gateway: GatewayProcess; upstream: Upstream }> {
  t.setTimeout(180_000) // generous: CI shares its two cores, and each step waits on a process
  const upstream = await startUpstream({ seed: 11 })
  const gateway = await startGateway({ env: providerEnv(upstream), timeoutMs: 60_000 })
  t.teardown(async () => {
    await gateway.stop()
    await upstream.close()
  })
  t.beforeEach(() => upstream.reset())
  return { gateway, upstream }
}

/** A fetch for a client's `fetch` option that keeps the JSON body of every POST the client made. */
export function recordingFetch(): { fetch: typeof fetch; sent: Json[] } {
  const sent: Json[] = []
  const recording: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') sent.push(JSON.parse(init.body) as Json)
    return fetch(input, init)
  }
  return { fetch: recording, sent }
}

export function withoutModel(body: unknown): Json {
  const { model: _model, ...rest } = body as Json
  return rest
}

/** `usage` without the gateway's `cost_usd`: what the upstream counted. */
export function countedUsage(usage: unknown): Json {
  const { cost_usd: _cost, ...counted } = (usage ?? {}) as Json
  return counted
}

// ------------------------------------------------------------------ OpenAI recordings

/** The Response OpenAI sent in a recording (a recorded stream's is its response.completed). */
export function recordedResponse(name: string): Json {
  const body = loadFixture(name).response.body
  return recordedAsStream(name) ? responseSseToJson(body) : (JSON.parse(body) as Json)
}

export function recordedOutputText(name: string): string {
  const texts: string[] = []
  for (const item of recordedResponse(name).output as Json[]) {
    if (item.type !== 'message') continue
    for (const part of item.content as Json[]) if (part.type === 'output_text') texts.push(String(part.text))
  }
  return texts.join('')
}

export function recordedFunctionCalls(name: string): Json[] {
  return (recordedResponse(name).output as Json[]).filter((item) => item.type === 'function_call')
}

/** The usage OpenAI counted in a Responses recording. */
export function recordedOpenAIUsage(name: string): Json {
  return loadFixture(name).meta.usage as Json
}

/**
 * OpenAI's answer to a `json_schema` text format: no Responses exchange with one was recorded, so
 * this is the plain-text recording `openai-responses-text-nonstream` (ids, usage and all) with its
 * text replaced by `json`, and `text.format` echoing the request's format. MADE UP from a
 * recording, not recorded.
 */
export function openAIJsonReply(json: unknown, format: Json): CustomReply {
  const response = recordedResponse('openai-responses-text-nonstream')
  const [message] = response.output as Json[]
  const [part] = (message!.content as Json[])
  const output = [{ ...message, content: [{ ...part, text: JSON.stringify(json) }] }]
  const body = { ...response, output, text: { ...(response.text as Json), format } }
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

// ------------------------------------------------------------------ Anthropic recordings

interface Block {
  type: string
  text?: string
  id?: string
  name?: string
  input?: unknown
}

/** The content blocks of a recorded Message (a recorded stream accumulated as Anthropic's SDK does). */
export function recordedBlocks(name: string): Block[] {
  const body = loadFixture(name).response.body
  if (!recordedAsStream(name)) return (JSON.parse(body) as { content: Block[] }).content
  const blocks: Block[] = []
  const json: string[] = []
  for (const event of sseEvents(body)) {
    const data = JSON.parse(event.data) as { type: string; index?: number; content_block?: Block; delta?: { type: string; text?: string; partial_json?: string } }
    if (data.type === 'content_block_start' && data.content_block) {
      blocks[data.index!] = { ...data.content_block }
      json[data.index!] = ''
    }
    if (data.type === 'content_block_delta' && data.delta) {
      if (data.delta.type === 'text_delta') blocks[data.index!]!.text = (blocks[data.index!]!.text ?? '') + data.delta.text
      if (data.delta.type === 'input_json_delta') json[data.index!] += data.delta.partial_json ?? ''
    }
  }
  return blocks.map((b, i) => (b.type === 'tool_use' ? { ...b, input: JSON.parse(json[i] || '{}') } : b))
}

export function recordedClaudeText(name: string): string {
  return recordedBlocks(name)
    .filter((b) => b.type === 'text')
    .map((b) => b.text)
    .join('')
}

/**
 * The Responses usage a Claude recording must come back as: OpenAI counts every prompt token in
 * `input_tokens` (Anthropic's input + cache reads + cache writes), the reads again as
 * `cached_tokens`, and the gateway adds the writes as `cache_write_tokens`.
 */
export function claudeResponsesUsage(name: string): Json {
  const meta = loadFixture(name).meta.usage as Json
  // A recorded stream's usage is split between message_start and the final message_delta.
  const start = (meta['message_start.message.usage'] ?? meta) as Json
  const delta = (meta['message_delta.usage'] ?? meta) as Json
  const num = (value: unknown) => (typeof value === 'number' ? value : 0)
  const read = num(start.cache_read_input_tokens)
  const write = num(start.cache_creation_input_tokens)
  const input = num(start.input_tokens) + read + write
  const output = num(delta.output_tokens)
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: read, cache_write_tokens: write },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  }
}

/**
 * Claude's answer to a request whose JSON schema the gateway enforced through its forced
 * `json_response` tool (models without native structured outputs): the recording
 * `anthropic-messages-tool-use-nonstream` (id, model, usage) with one tool_use block holding
 * `input`. MADE UP from a recording, not recorded.
 */
export function claudeJsonToolReply(input: unknown): CustomReply {
  const message = JSON.parse(loadFixture('anthropic-messages-tool-use-nonstream').response.body) as Json
  const content = [{ type: 'tool_use', id: 'toolu_01JsonAnswer0000000000000', name: 'json_response', input }]
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...message, content, stop_reason: 'tool_use' }) }
}

/**
 * Claude's answer with native structured outputs (`output_config.format`): the recording
 * `anthropic-messages-text-nonstream` with its text replaced by `json`. MADE UP from a recording.
 */
export function claudeJsonTextReply(json: unknown): CustomReply {
  const message = JSON.parse(loadFixture('anthropic-messages-text-nonstream').response.body) as Json
  const content = [{ type: 'text', text: JSON.stringify(json) }]
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...message, content }) }
}
