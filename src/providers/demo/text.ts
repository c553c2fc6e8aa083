// Text helpers of the offline demo: the label every answer carries, a stand-in tokenizer, stable
// ids, and stream pieces. Everything here is one linear pass over caller-sized input: the demo is
// always on, even with real keys, so a hostile prompt must not hold the event loop.
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'

export const DEMO_LABEL = '[offline demo provider, no model was called]'

/** Roughly four characters a token, as a stand-in tokenizer: plausible, deterministic. */
export const CHARS_PER_TOKEN = 4

export function tokens(text: string): number {
  return tokensOfLength(text.length)
}

export function tokensOfLength(length: number): number {
  return Math.max(1, Math.ceil(length / CHARS_PER_TOKEN))
}

export function textOf(message: ChatCompletionMessageParam | undefined): string {
  const content = message?.content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join(' ')
}

/** A small stable hash (FNV-1a), so ids are deterministic for the same prompt. */
export function hash(text: string, seed = 2166136261): string {
  return (fnv(text, seed) >>> 0).toString(16).padStart(8, '0')
}

/** Ids need stability, not every character: a long text is hashed by its length and both ends. */
const HASHED_END = 2048

function fnv(text: string, seed: number): number {
  let h = seed
  const step = (i: number) => (h = Math.imul(h ^ text.charCodeAt(i), 16777619))
  if (text.length <= 2 * HASHED_END) {
    for (let i = 0; i < text.length; i++) step(i)
    return h
  }
  for (let i = 0; i < HASHED_END; i++) step(i)
  for (let i = text.length - HASHED_END; i < text.length; i++) step(i)
  return Math.imul(h ^ text.length, 16777619)
}

/** The hash of a conversation's roles and texts, without building one big string of it. */
export function hashMessages(messages: ChatCompletionMessageParam[]): string {
  let h = 2166136261
  for (const message of messages) h = fnv(textOf(message), fnv(message.role, h))
  return (h >>> 0).toString(16).padStart(8, '0')
}

/** At most `max` UTF-16 units of `text`, never ending in half a surrogate pair. */
export function cutAt(text: string, max: number): string {
  if (text.length <= max) return text
  const end = Math.max(0, max)
  const last = text.charCodeAt(end - 1)
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end)
}

const MAX_PIECES = 64

/**
 * The pieces a stream sends: word by word, as a model would, but never more than MAX_PIECES, so a
 * long JSON answer streams in a bounded number of chunks (each one waits the token delay).
 */
export function piecesOf(text: string): string[] {
  if (text === '') return []
  // Count spaces only as far as needed: splitting a long text into its words first would be slow.
  let spaces = 0
  for (let at = text.indexOf(' '); at >= 0 && spaces < MAX_PIECES; at = text.indexOf(' ', at + 1)) spaces++
  if (spaces < MAX_PIECES) return text.split(/(?<= )/)
  const size = Math.ceil(text.length / MAX_PIECES)
  const pieces: string[] = []
  for (let at = 0; at < text.length; ) {
    const piece = cutAt(text.slice(at, at + size + 1), size) || text.slice(at, at + 2)
    pieces.push(piece)
    at += piece.length
  }
  return pieces
}
