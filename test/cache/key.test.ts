// The response cache's key (src/core/cache/key.ts): exact match on everything that determines an
// answer. Every body field counts but a short list that only labels or delivers the call, so
// each field of the OpenAI (chat, Responses, embeddings) and Anthropic Messages references that
// changes the answer changes the key, and a field an API adds later makes a miss, not a wrong hit.
import t from 'tap'
import { cacheKey, uncacheable } from '../../src/core/cache/key.ts'
import { MemoryStore } from '../../src/core/cache/memory-store.ts'
import { ResponseCache } from '../../src/core/cache/response-cache.ts'
import type { Plan } from '../../src/core/router.ts'

type Json = Record<string, unknown>
const chat: Json = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }],
  temperature: 0.2,
}
const key = (body: Json, options: { api?: string; model?: string; stream?: boolean; headers?: Record<string, string> } = {}) =>
  cacheKey(options.api ?? 'chat', options.model ?? 'gpt-4o-mini', options.stream ?? false, body, options.headers)

t.test('the order of keys, at any depth, does not matter; the order of array items does', async (t) => {
  const reordered = { temperature: 0.2, messages: [{ content: 'Be brief.', role: 'system' }, { content: 'Hi', role: 'user' }], model: 'gpt-4o-mini' }
  t.equal(key(reordered), key(chat))
  const swapped = { ...chat, messages: [...(chat.messages as unknown[])].reverse() }
  t.not(key(swapped), key(chat), 'messages in another order are another conversation')
  t.equal(key({ ...chat, seed: undefined }), key(chat), 'a field set to undefined is a field not sent')
})

t.test('fields that only label, deliver or bill the call do not count', async (t) => {
  const labels: Json = {
    user: 'alice',
    safety_identifier: 'hash-of-alice',
    metadata: { team: 'search', user_id: 'alice' },
    stream_options: { include_usage: true },
    service_tier: 'flex',
    prompt_cache_key: 'conversation-7',
    prompt_cache_retention: '24h',
    stream: false,
    model: 'another-name-for-the-same',
  }
  for (const [field, value] of Object.entries(labels)) t.equal(key({ ...chat, [field]: value }), key(chat), `${field} does not count`)
})

t.test('every field that shapes the answer counts', async (t) => {
  const changes: Record<string, unknown> = {
    // Chat Completions
    messages: [{ role: 'user', content: 'Hi!' }],
    temperature: 0.3,
    top_p: 0.9,
    n: 2,
    seed: 7,
    max_tokens: 10,
    max_completion_tokens: 10,
    stop: ['\n'],
    presence_penalty: 0.5,
    frequency_penalty: 0.5,
    logit_bias: { 50256: -100 },
    logprobs: true,
    top_logprobs: 3,
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    tool_choice: 'required',
    parallel_tool_calls: false,
    response_format: { type: 'json_object' },
    reasoning_effort: 'high',
    verbosity: 'low',
    modalities: ['text', 'audio'],
    audio: { voice: 'alloy', format: 'wav' },
    prediction: { type: 'content', content: 'draft' },
    web_search_options: {},
    store: true,
    // Responses
    input: 'Hi',
    instructions: 'Be brief.',
    previous_response_id: 'resp_1',
    reasoning: { effort: 'low' },
    text: { format: { type: 'json_object' } },
    include: ['reasoning.encrypted_content'],
    max_output_tokens: 10,
    max_tool_calls: 1,
    truncation: 'auto',
    prompt: { id: 'pmpt_1', version: '2' },
    // Anthropic Messages
    system: 'You are terse.',
    thinking: { type: 'enabled', budget_tokens: 1024 },
    top_k: 5,
    stop_sequences: ['END'],
    mcp_servers: [{ type: 'url', url: 'https://mcp.example', name: 'x' }],
    context_management: { edits: [] },
    // Embeddings
    dimensions: 256,
    encoding_format: 'base64',
  }
  for (const [field, value] of Object.entries(changes)) t.not(key({ ...chat, [field]: value }), key(chat), `${field} counts`)
})

t.test('the API, the model named, streaming and the headers passed on count', async (t) => {
  t.not(key(chat, { api: 'responses' }), key(chat), 'the API')
  t.not(key(chat, { model: 'gpt-4o' }), key(chat), 'the model or group as the caller named it')
  t.not(key(chat, { stream: true }), key(chat), 'a stream is kept apart from a JSON answer')
  const beta = { 'anthropic-beta': 'context-1m-2025-08-07' }
  t.not(key(chat, { headers: beta }), key(chat), 'an Anthropic beta may change the answer')
  t.not(key(chat, { headers: { 'anthropic-version': '2023-06-01' } }), key(chat, { headers: { 'anthropic-version': '2023-01-01' } }), 'so may the API version')
  t.equal(key(chat, { headers: { b: '2', a: '1' } }), key(chat, { headers: { a: '1', b: '2' } }), 'headers in any order')
  // A model name cannot pass for the start of the body.
  t.not(cacheKey('chat', 'a', false, { b: 1 }), cacheKey('chat', 'a"b', false, {}))
})

t.test('requests that read or change state the provider keeps are never cached', async (t) => {
  t.equal(uncacheable(chat), undefined)
  t.equal(uncacheable({ input: 'Hi', conversation: 'conv_1' }), 'conversation', 'a Responses conversation grows with every call')
  t.equal(uncacheable({ input: 'Hi', background: true }), 'background', 'a background response is queued, to poll')
  t.equal(uncacheable({ input: 'Hi', background: false }), undefined)
  t.equal(uncacheable({ messages: [], container: 'container_1' }), 'container', "an Anthropic container's files change")
})

t.test('the key names the targets the model or group stands for, in any order', async (t) => {
  const cache = new ResponseCache(new MemoryStore(1024), { ttlSeconds: 60, maxBytes: 1024, maxEntryBytes: 1024 })
  const target = (provider: string, model: string) => ({ route: { adapter: { name: provider }, model }, weight: 1, contextFallback: false })
  const plan = (requested: string, ...targets: ReturnType<typeof target>[]) => ({ requested, group: undefined, targets }) as unknown as Plan
  const keyOf = (p: Plan) => cache.policy(p, 'chat', chat, false)!.key
  const a = target('openai', 'gpt-4o-mini')
  const b = target('anthropic', 'claude-haiku-4-5')
  t.equal(keyOf(plan('smart', a, b)), keyOf(plan('smart', b, a)), 'a loadbalance plan lists its targets in a new order each call: one entry')
  t.not(keyOf(plan('fast', a)), keyOf(plan('fast', target('openai', 'gpt-4o'))), 'an alias pointed at another model (a Redis cache outlives the restart): another entry')
  t.not(keyOf(plan('smart', a, b)), keyOf(plan('smart', a)), 'a group given other targets: another entry')
  t.not(keyOf(plan('fast', a)), keyOf(plan('openai/gpt-4o-mini', a)), 'the name the caller used counts too')
})
