// How the demo calls a tool: which offered tool fits the prompt, and arguments valid against its
// parameters schema, with arithmetic from the prompt in an `expression`. Linear in the prompt.
import type { ChatCompletionFunctionTool, ChatCompletionMessageParam, ChatCompletionNamedToolChoice } from 'openai/resources/chat/completions'
import type { ChatRequest } from '../../core/types.ts'
import { exampleFor } from './json-example.ts'

/** The offered tool the caller forces, else the one that fits the prompt: the clock for time questions, else arithmetic, else the first. */
export function pickTool(request: ChatRequest, tools: ChatCompletionFunctionTool[], prompt: string): ChatCompletionFunctionTool | undefined {
  const choice = request.tool_choice
  if (choice === 'none') return undefined
  const forced = typeof choice === 'object' && choice.type === 'function' ? (choice as ChatCompletionNamedToolChoice).function.name : undefined
  if (forced !== undefined) return tools.find((t) => t.function.name === forced)
  const named = (pattern: RegExp) => tools.find((t) => pattern.test(t.function.name))
  if (/\b(time|date|day|clock|hour)\b/i.test(prompt)) return named(/time|clock|date/) ?? tools[0]
  if (/\d\s*[-+*/^%]\s*[\d(]/.test(prompt)) return named(/calc|math|eval/) ?? tools[0]
  return tools[0]
}

const MAX_EXPRESSION = 1000

/**
 * Arguments for the tool, valid against its parameters schema: required properties only (an
 * optional one filled with prompt text would mislead the tool), except `expression`, which gets
 * the arithmetic of the prompt; other strings get the start of the prompt.
 */
export function argumentsFor(tool: ChatCompletionFunctionTool, prompt: string): string {
  // Bounded like any model output (the calculator takes at most 1,000 characters anyway).
  const arithmetic = longestArithmetic(prompt)?.slice(0, MAX_EXPRESSION)
  const args = exampleFor(tool.function.parameters ?? { type: 'object' }, {
    text: (key) => (key === 'expression' && arithmetic ? arithmetic : prompt.slice(0, 200)),
    optional: (key) => key === 'expression',
  })
  // Arguments are a JSON object whatever the schema says at its root.
  return JSON.stringify(typeof args === 'object' && args !== null && !Array.isArray(args) ? args : {})
}

/** Digits, operators, parentheses, dots and ASCII white space, by char code. */
const ARITHMETIC = new Uint8Array(128)
for (const c of '0123456789-+*/^%(). \t\n\r\v\f') ARITHMETIC[c.charCodeAt(0)] = 1
const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39

/**
 * The longest run of arithmetic characters (digits, operators, parentheses, dots, spaces) that
 * holds a digit, trimmed. One pass over the prompt: the regular expression this replaces
 * (a digit between two unbounded runs of the same class) backtracked quadratically on long
 * digit-free runs, 6 s for 80 KB of dots.
 */
export function longestArithmetic(prompt: string): string | undefined {
  let bestStart = 0
  let bestLength = 0
  let start = -1
  let digit = false
  for (let i = 0; i <= prompt.length; i++) {
    const code = i < prompt.length ? prompt.charCodeAt(i) : -1
    if (code >= 0 && code < 128 && ARITHMETIC[code] === 1) {
      if (start < 0) start = i
      if (isDigit(code)) digit = true
      continue
    }
    if (start >= 0 && digit && i - start > bestLength) {
      bestStart = start
      bestLength = i - start
    }
    start = -1
    digit = false
  }
  return bestLength > 0 ? prompt.slice(bestStart, bestStart + bestLength).trim() : undefined
}

/** The name of the tool whose result `message` carries, from the assistant turn that called it. */
export function toolNameOf(messages: ChatCompletionMessageParam[], message: ChatCompletionMessageParam): string {
  const id = message.role === 'tool' ? message.tool_call_id : undefined
  for (const m of messages) {
    if (m.role !== 'assistant' || !Array.isArray(m.tool_calls)) continue
    const call = m.tool_calls.find((c) => c?.id === id)
    if (call && call.type === 'function' && call.function) return call.function.name
  }
  return 'the tool'
}
