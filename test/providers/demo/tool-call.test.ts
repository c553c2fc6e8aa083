// The demo's tool call on hostile prompts (issue 10, defect 1): pulling the arithmetic out of the
// prompt was a regular expression that backtracked quadratically on runs of its own class without
// a digit (80 KB of `.` held the event loop 6.3 s). The one-pass replacement finds the same text
// as the old expression on any prompt, and takes milliseconds on the largest prompt a body holds.
import t from 'tap'
import fc from 'fast-check'
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions'
import { argumentsFor, longestArithmetic, pickTool } from '../../../src/providers/demo/tool-call.ts'
import { hashMessages, piecesOf, textOf } from '../../../src/providers/demo/text.ts'

/** The expression this replaces, kept here as the reference for its behaviour. */
function oldArithmetic(prompt: string): string | undefined {
  return prompt.match(/[-+*/^%().\d\s]*\d[-+*/^%().\d\s]*/g)?.sort((a, b) => b.length - a.length)[0]?.trim()
}

const calculator: ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'calculator', parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } },
}

/** The default BODY_LIMIT_BYTES: the largest prompt a request can carry. */
const BODY_LIMIT = 10 * 1024 * 1024

t.test('finds what the old expression found, on any prompt', async (t) => {
  const character = fc.constantFrom(...'0123456789 .()+-*/^%\tab:xé'.split(''))
  fc.assert(
    fc.property(fc.array(character, { maxLength: 60 }).map((cs) => cs.join('')), (prompt) => longestArithmetic(prompt) === oldArithmetic(prompt)),
    { numRuns: 2000, seed: 10 },
  )
  t.equal(longestArithmetic('Solve: 15 * 23 + 7'), '15 * 23 + 7')
  t.equal(longestArithmetic('no digits here...'), undefined)
  t.equal(longestArithmetic('a 1 b (2 + 3) c 4'), '(2 + 3)', 'the longest run wins')
})

t.test('the largest hostile prompts take milliseconds, not seconds', async (t) => {
  const prompts: Array<[string, string]> = [
    ["80 KB of '.' (the issue's reproduction)", '.'.repeat(80_000)],
    ["10 MB of '.'", '.'.repeat(BODY_LIMIT)],
    ['10 MB of spaces after a digit', '1' + ' '.repeat(BODY_LIMIT)],
    ["10 MB of '(' and ')'", '()'.repeat(BODY_LIMIT / 2)],
    ['10 MB of alternating arithmetic and letters', '.a'.repeat(BODY_LIMIT / 2)],
    ['10 MB of arithmetic', '1+'.repeat(BODY_LIMIT / 2) + '1'],
  ]
  for (const [name, prompt] of prompts) {
    const started = performance.now()
    const args = argumentsFor(calculator, prompt)
    pickTool({ model: 'demo-chat', messages: [] }, [calculator], prompt)
    const ms = performance.now() - started
    // Generous for a loaded CI machine: the old expression took 6.3 s on 80 KB, and being
    // quadratic it would take days on 10 MB; one linear pass is milliseconds to a few hundred.
    t.ok(ms < (prompt.length > 100_000 ? 5000 : 1000), `${name}: ${Math.round(ms)} ms`)
    t.ok(args.length <= 1100, `bounded arguments (${args.length} characters), like any model output`)
  }
  t.same(JSON.parse(argumentsFor(calculator, 'Solve: 15 * 23 + 7')), { expression: '15 * 23 + 7' })
})

t.test('the other per-prompt work is linear too: text, ids, stream pieces', async (t) => {
  const parts = Array.from({ length: 200_000 }, () => ({ type: 'text' as const, text: 'x' }))
  const messages = [{ role: 'user' as const, content: parts }, ...Array.from({ length: 200_000 }, () => ({ role: 'user' as const, content: 'x' }))]
  const started = performance.now()
  textOf(messages[0])
  hashMessages(messages)
  const pieces = piecesOf('word '.repeat(BODY_LIMIT / 5))
  const ms = performance.now() - started
  t.ok(ms < 5000, `200,000 parts, 200,000 messages, a 10 MB answer: ${Math.round(ms)} ms`)
  t.ok(pieces.length <= 64, `a long answer streams in ${pieces.length} pieces, not one per word`)
  t.equal(pieces.join(''), 'word '.repeat(BODY_LIMIT / 5), 'and the pieces add up to it')
  const emoji = piecesOf('🙂🙂🙂 '.repeat(100))
  t.ok(emoji.length > 1 && emoji.every((p) => p.isWellFormed()), 'no piece splits a surrogate pair')
})
