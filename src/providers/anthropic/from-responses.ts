// The Responses API (ingress) → Anthropic Messages (upstream): responses → chat → messages through
// via(), the usage read from Anthropic's own counts. One hosted tool has an equivalent and is
// mapped instead of left out: OpenAI's web search becomes Anthropic's web search server tool
// (allowed domains and the user's location carried over), so a client that always offers web
// search (Codex) gets it on Claude too. Claude runs the searches itself; its answer's text comes
// back as the message, the search blocks stay upstream (as on chat).
import { via } from '../../core/translate-via.ts'
import type { Translator } from '../../core/translator.ts'
import { responsesToChat } from '../openai/from-responses.ts'
import { chatToMessages } from './from-chat.ts'

type Json = Record<string, unknown>

const WEB_SEARCH = new Set(['web_search', 'web_search_preview', 'web_search_2025_08_26', 'web_search_preview_2025_03_11'])

/** Anthropic's web search tool for an OpenAI one. */
function anthropicWebSearch(tool: Json): Json {
  const search: Json = { type: 'web_search_20250305', name: 'web_search' }
  const domains = (tool.filters as { allowed_domains?: unknown } | undefined)?.allowed_domains
  if (Array.isArray(domains) && domains.length > 0) search.allowed_domains = domains
  const location = tool.user_location as Json | undefined
  if (location && typeof location === 'object') {
    const { type: _type, ...place } = location
    const known = Object.fromEntries(Object.entries(place).filter(([, value]) => typeof value === 'string' && value !== ''))
    if (Object.keys(known).length > 0) search.user_location = { type: 'approximate', ...known }
  }
  return search
}

const composed = via(responsesToChat, chatToMessages)

export const responsesToMessages: Translator = {
  ...composed,
  request(body, model, stream) {
    const upstream = composed.request(body, model, stream)
    const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : []
    const search = tools.find((tool) => typeof tool?.type === 'string' && WEB_SEARCH.has(tool.type))
    if (!search) return upstream
    const own = Array.isArray(upstream.body.tools) ? (upstream.body.tools as Json[]) : []
    const omitted = (upstream.omitted ?? []).filter((part) => part !== `tools.${String(search.type)}`)
    return { body: { ...upstream.body, tools: [...own, anthropicWebSearch(search)] }, ...(omitted.length ? { omitted } : {}) }
  },
}
