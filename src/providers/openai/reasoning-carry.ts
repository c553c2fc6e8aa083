// Anthropic thinking blocks carried through a Responses `reasoning` item's `encrypted_content`.
//
// A Claude model answering through the Responses API thinks in signed blocks; on the next turn of
// a tool loop Anthropic wants those blocks back exactly (text and signature, or the redacted
// data), or it rejects the request. Responses clients keep reasoning items and send them back
// verbatim, and `encrypted_content` is the field they treat as opaque: it holds the blocks,
//
//   `sikgw.thinking.v1:` + base64url(JSON.stringify(blocks))
//
// where `blocks` is the chat extension `thinking_blocks` ({type: 'thinking', thinking,
// signature} | {type: 'redacted_thinking', data}) in their order. The prefix tells our value
// apart from OpenAI's own encrypted reasoning (a conversation that moved from an OpenAI model to
// another one): that is not ours to read and is left out. Nothing here is secret: the signature
// is what lets Anthropic refuse altered thinking.
import { invalidRequest } from '../../errors.ts'
import type { RoundTripThinkingBlock } from '../anthropic/translate-messages.ts'

export type ThinkingBlock = RoundTripThinkingBlock

const PREFIX = 'sikgw.thinking.v1:'

export function encodeThinking(blocks: readonly ThinkingBlock[]): string {
  return PREFIX + Buffer.from(JSON.stringify(blocks), 'utf8').toString('base64url')
}

/**
 * The blocks in an `encrypted_content` we wrote; undefined for anything else (absent, OpenAI's).
 * Ours but damaged is a 400 naming `param`: sending the turn without its thinking would be
 * refused by Anthropic with a message the caller could not trace back.
 */
export function decodeThinking(value: unknown, param: string): ThinkingBlock[] | undefined {
  if (typeof value !== 'string' || !value.startsWith(PREFIX)) return undefined
  let blocks: unknown
  try {
    blocks = JSON.parse(Buffer.from(value.slice(PREFIX.length), 'base64url').toString('utf8'))
  } catch {
    blocks = undefined
  }
  if (!Array.isArray(blocks) || !blocks.every(isThinkingBlock)) {
    throw invalidRequest('encrypted_content was altered: send reasoning items back as they were received.', param)
  }
  return blocks
}

/** The chat extension's blocks, as an upstream message or delta carries them (anything else is ignored). */
export function thinkingBlocksOf(value: unknown): ThinkingBlock[] {
  return Array.isArray(value) ? value.filter(isThinkingBlock) : []
}

function isThinkingBlock(block: unknown): block is ThinkingBlock {
  if (typeof block !== 'object' || block === null) return false
  const b = block as Record<string, unknown>
  if (b.type === 'thinking') return typeof b.thinking === 'string' && typeof b.signature === 'string'
  return b.type === 'redacted_thinking' && typeof b.data === 'string'
}
