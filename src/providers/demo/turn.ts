// What the demo answers, decided from the request alone (deterministic): a tool call when tools
// fit, the tool's result after it, else an echo; JSON when `response_format` asks for it; all of it
// cut at `max_completion_tokens` / `max_tokens` with finish_reason `length`.
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions'
import type { ChatRequest } from '../../core/types.ts'
import { exampleFor } from './json-example.ts'
import { CHARS_PER_TOKEN, DEMO_LABEL, cutAt, hash, textOf } from './text.ts'
import { argumentsFor, pickTool, toolNameOf } from './tool-call.ts'

export interface DemoTurn {
  content: string | null
  reasoning: string | null
  toolCall: { id: string; name: string; arguments: string } | null
  finishReason: 'stop' | 'tool_calls' | 'length'
}

/** The characters of a prompt the demo reads: far more than any question it answers needs. */
export const PROMPT_WINDOW = 64 * 1024

export function planTurn(request: ChatRequest, model: string): DemoTurn {
  return withinTokenLimit(draftTurn(request, model), request.max_completion_tokens ?? request.max_tokens)
}

function draftTurn(request: ChatRequest, model: string): DemoTurn {
  const messages = request.messages
  // A system note after the turn (Claude Code appends one) is not what the demo answers.
  const last = messages.findLast((m) => m.role !== 'system' && m.role !== 'developer') ?? messages[messages.length - 1]
  // The demo reads the start of the turn it answers, however long: each step after this (the
  // tool's pick, the arithmetic, the ids) is then bounded, and a 10 MB prompt no longer holds the
  // event loop for hundreds of ms per step (test/hardening/event-loop.test.ts).
  const prompt = cutAt(textOf(last), PROMPT_WINDOW)
  const tools = (request.tools ?? []).filter((t): t is ChatCompletionFunctionTool => t.type === 'function')
  const question = textOf(messages.findLast((m) => m.role === 'user'))
  const reasoning = model === 'demo-reasoner' ? `The user asked: "${question.slice(0, 120)}". ${DEMO_LABEL}` : null
  if (last?.role === 'tool') {
    // The tool's result as the caller sent it may be megabytes: the demo quotes a bounded piece.
    const result = cutAt(prompt, 200)
    const said = `${DEMO_LABEL} ${toolNameOf(messages, last)} returned ${result}, so the answer is ${result}.`
    return { content: formatted(request, said), reasoning, toolCall: null, finishReason: 'stop' }
  }
  const tool = tools.length > 0 ? pickTool(request, tools, prompt) : undefined
  if (tool) {
    const name = tool.function.name
    const toolCall = { id: `call_demo_${hash(prompt + name)}`, name, arguments: argumentsFor(tool, prompt) }
    return { content: null, reasoning, toolCall, finishReason: 'tool_calls' }
  }
  const said =
    `${DEMO_LABEL} This is sik-llms-gateway's offline demo model. You said: "${prompt.slice(0, 200)}". ` +
    'Set OPENAI_API_KEY or ANTHROPIC_API_KEY and ask for a real model to get a real answer.'
  return { content: formatted(request, said), reasoning, toolCall: null, finishReason: 'stop' }
}

/**
 * The answer in the format asked for: JSON valid against the json_schema (its free strings carry
 * the demo label), a JSON object that says it is a demo for json_object, else the text itself.
 */
function formatted(request: ChatRequest, text: string): string {
  const format = request.response_format
  if (format?.type === 'json_schema' && format.json_schema.schema) {
    return JSON.stringify(exampleFor(format.json_schema.schema, { text: () => DEMO_LABEL, optional: () => true }))
  }
  if (format?.type === 'json_schema' || format?.type === 'json_object') return JSON.stringify({ demo: DEMO_LABEL, answer: text })
  return text
}

/**
 * The part of the turn that fits in `limit` completion tokens (at the demo's four characters a
 * token), in the order a model writes: reasoning, then the answer or the tool call. A turn cut
 * short ends with `length`, as OpenAI's does, and a JSON answer cut short is not valid JSON.
 */
function withinTokenLimit(turn: DemoTurn, limit: number | null | undefined): DemoTurn {
  if (!limit) return turn
  let budget = limit * CHARS_PER_TOKEN
  let cut = false
  const take = (text: string | null): string | null => {
    if (text === null) return null
    const kept = cutAt(text, budget)
    budget -= kept.length
    cut ||= kept.length < text.length
    return kept
  }
  const reasoning = take(turn.reasoning)
  const content = take(turn.content)
  const args = turn.toolCall ? take(turn.toolCall.arguments) : null
  if (!cut) return turn
  // A tool call the budget did not reach was never started.
  const toolCall = turn.toolCall && args ? { ...turn.toolCall, arguments: args } : null
  return { content: content ?? (toolCall ? null : ''), reasoning, toolCall, finishReason: 'length' }
}
