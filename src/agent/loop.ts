// The reasoning agent: think → call tools → observe → answer, inside the gateway, with the
// provider's native tool calling. Each model call is one iteration; the tool calls of one turn
// run concurrently; at the iteration cap the model is asked for a final answer without tools.
// Events are handed to `emit` as they happen; the route turns them into SSE or ignores them.
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { ModelRouter, Route } from '../core/router.ts'
import type { Dispatch } from '../core/dispatch.ts'
import { assistantMessage, runModelTurn, type AssistantTurn, type TurnOptions } from '../core/model-turn.ts'
import { emptyUsage, type ChatRequest, type Usage } from '../core/types.ts'
import { GatewayError, asGatewayError } from '../errors.ts'
import { AgentRun } from '../telemetry/agent-run.ts'
import { randomUUID } from 'node:crypto'
import { traceContextBody, type TraceIds } from '../telemetry/trace-context.ts'
import { ITERATION_CAPS, type Effort } from './effort.ts'
import { Toolbox } from './toolbox.ts'
import type { AgentTool } from './tools/types.ts'

export interface AgentRequest {
  model: string
  messages: ChatCompletionMessageParam[]
  tools?: string[]
  reasoning_effort?: Effort
  max_iterations?: number
  temperature?: number
  top_p?: number
  stream?: boolean
}

export interface ToolCallRecord {
  id: string
  name: string
  arguments: string
  result: string | null
  error: string | null
  duration_ms: number
}

export interface IterationRecord {
  index: number
  thinking: string
  tool_calls: ToolCallRecord[]
}

export type AgentEvent =
  | { event: 'iteration'; data: { index: number } }
  | { event: 'thinking.delta'; data: { index: number; delta: string } }
  | { event: 'answer.delta'; data: { index: number; delta: string } }
  | { event: 'tool.call'; data: { index: number; id: string; name: string; arguments: string } }
  | { event: 'tool.result'; data: { index: number } & ToolCallRecord }

export interface AgentSummary {
  id: string
  object: 'agent.run'
  model: string
  answer: string
  iterations: IterationRecord[]
  usage: AgentUsage
  trace_context: { trace_id: string; span_id: string } | null
}

export interface AgentUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details: { cached_tokens: number }
  completion_tokens_details: { reasoning_tokens: number }
  cache_creation_input_tokens: number
  cost_usd?: number
}

export interface AgentDeps {
  dispatch: Dispatch
  router: ModelRouter
  toolbox: Toolbox
}

/** Said to the model at the cap, in place of further tool calls. */
const FINAL_ANSWER_NUDGE =
  'You have used all your tool calls for this task. Answer the original question now, as well as you can, without calling any tool.'

function addUsage(total: Usage, turn: Usage | undefined): void {
  if (!turn) return
  total.input += turn.input
  total.output += turn.output
  total.cacheRead += turn.cacheRead
  total.cacheWrite += turn.cacheWrite
  total.cacheWrite1h += turn.cacheWrite1h
  total.reasoning += turn.reasoning
}

/**
 * OpenAI's usage shape (as on a chat completion), summed over every model call of the run; cache
 * writes as the OpenAI-compatible servers that report them name them.
 */
function usageBody(usage: Usage, cost: number | undefined): AgentUsage {
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cacheRead },
    completion_tokens_details: { reasoning_tokens: usage.reasoning },
    cache_creation_input_tokens: usage.cacheWrite,
    ...(cost === undefined ? {} : { cost_usd: Math.round(cost * 1e10) / 1e10 }),
  }
}

export class ReasoningAgent {
  private readonly deps: AgentDeps

  constructor(deps: AgentDeps) {
    this.deps = deps
  }

  /** Checks what can be checked before any work starts: model route and tool names (4xx). */
  prepare(request: AgentRequest): { route: Route; tools: AgentTool[] } {
    return { route: this.deps.router.resolve(request.model), tools: this.deps.toolbox.select(request.tools) }
  }

  /**
   * Runs to an answer. Resolves with the summary, rejects with a GatewayError. `onStart` gets the
   * agent span's ids as soon as the span exists: they are the ids the caller is given.
   */
  async run(
    request: AgentRequest,
    prepared: { route: Route; tools: AgentTool[] },
    signal: AbortSignal,
    emit: (event: AgentEvent) => void,
    onStart: (ids: TraceIds | undefined) => void = () => {},
    options: TurnOptions = {},
  ): Promise<AgentSummary> {
    const { route, tools } = prepared
    const effort: Effort = request.reasoning_effort ?? 'medium'
    const cap = request.max_iterations ?? ITERATION_CAPS[effort]
    const run = new AgentRun({ provider: route.adapter.name, model: route.model, requestedModel: route.requested, effort, caller: options.caller }, options.parent)
    onStart(run.ids)
    const runId = run.ids?.span_id ?? randomUUID().replaceAll('-', '').slice(0, 16)
    const usage = emptyUsage()
    let cost: number | undefined = 0
    const iterations: IterationRecord[] = []
    const conversation: ChatCompletionMessageParam[] = [...request.messages]
    const openAITools = Toolbox.asOpenAITools(tools)
    const reasoning = route.adapter.reasoning?.(route.model) ?? false
    // Model calls started: a run that fails or is cancelled inside iteration N has made N, and
    // has N iteration spans, though only N-1 iteration records.
    let started = 0
    const totals = () => ({
      iterations: started,
      toolCalls: iterations.reduce((n, it) => n + it.tool_calls.length, 0),
      usage,
      cost,
    })

    try {
      for (let index = 1; index <= cap; index++) {
        const final = index === cap
        if (final && index > 1) conversation.push({ role: 'user', content: FINAL_ANSWER_NUDGE })
        // The first turn was admitted with the request; each later one is paid too, so it asks
        // again (a spent budget or tokens per minute ends the run with its 429).
        if (index > 1) await options.admitTurn?.()
        const turnRequest: ChatRequest = {
          // The caller's name for the model: the dispatch routes it as it routed the run.
          model: request.model,
          messages: [...conversation],
          stream: true,
          stream_options: { include_usage: true },
          ...(openAITools.length ? { tools: openAITools, tool_choice: final ? 'none' : 'auto' } : {}),
          ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
          ...(request.top_p === undefined ? {} : { top_p: request.top_p }),
          ...(reasoning ? { reasoning_effort: effort } : {}),
        }
        emit({ event: 'iteration', data: { index } })
        started = index
        const span = run.iteration(index)
        let turn: AssistantTurn
        try {
          turn = await runModelTurn(this.deps.dispatch, turnRequest, signal, span.context, {
            onContent: (delta) => emit({ event: 'answer.delta', data: { index, delta } }),
            onReasoning: (delta) => emit({ event: 'thinking.delta', data: { index, delta } }),
          }, options)
        } catch (error) {
          const failure = asGatewayError(error)
          span.end({}, { type: failure.errorType, message: failure.message })
          throw failure
        }
        if (turn.servedBy) run.servedBy(turn.servedBy)
        addUsage(usage, turn.usage)
        cost = cost === undefined || turn.cost === undefined ? undefined : cost + turn.cost.total
        // Text that came with tool calls was the model thinking aloud, not its answer.
        const thinking = turn.toolCalls.length ? [turn.reasoning, turn.content].filter(Boolean).join('\n') : turn.reasoning
        const record: IterationRecord = { index, thinking, tool_calls: [] }
        iterations.push(record)
        span.end({ 'reasoning.thinking.content_length': thinking.length })

        if (turn.toolCalls.length === 0 || final) {
          const summary: AgentSummary = {
            id: `agentrun-${runId}`,
            object: 'agent.run',
            model: request.model,
            answer: turn.content,
            iterations,
            usage: usageBody(usage, cost),
            trace_context: traceContextBody(run.ids),
          }
          run.succeed(totals())
          return summary
        }

        conversation.push(assistantMessage(turn))
        record.tool_calls = await this.runTools(run, tools, turn, index, signal, emit)
        for (const call of record.tool_calls) {
          conversation.push({ role: 'tool', tool_call_id: call.id, content: call.error === null ? (call.result ?? '') : `Error: ${call.error}` })
        }
        if (signal.aborted) throw new GatewayError('cancelled', 'The caller closed the connection')
      }
      throw new GatewayError('internal', 'the agent loop ended without an answer')
    } catch (error) {
      const failure = asGatewayError(error)
      run.fail(totals(), failure)
      throw failure
    }
  }

  private async runTools(
    run: AgentRun,
    tools: AgentTool[],
    turn: AssistantTurn,
    index: number,
    signal: AbortSignal,
    emit: (event: AgentEvent) => void,
  ): Promise<ToolCallRecord[]> {
    const byName = new Map(tools.map((tool) => [tool.name, tool]))
    return Promise.all(
      turn.toolCalls.map(async (call): Promise<ToolCallRecord> => {
        emit({ event: 'tool.call', data: { index, id: call.id, name: call.name, arguments: call.arguments } })
        const tool = byName.get(call.name)
        const span = run.tool(call.name, call.id, countArguments(call.arguments))
        const outcome = tool
          ? await this.deps.toolbox.run(tool, call.arguments, signal)
          : { result: null, error: `there is no tool named ${call.name}`, durationMs: 0, content: '' }
        span.end({}, outcome.error === null ? undefined : { type: 'tool_error', message: outcome.error })
        const record: ToolCallRecord = {
          id: call.id,
          name: call.name,
          arguments: call.arguments,
          result: outcome.result,
          error: outcome.error,
          duration_ms: outcome.durationMs,
        }
        emit({ event: 'tool.result', data: { index, ...record } })
        return record
      }),
    )
  }
}

/** `tool.arguments_count` of the guide: how many arguments the model passed. */
function countArguments(raw: string): number {
  try {
    const parsed: unknown = JSON.parse(raw)
    return typeof parsed === 'object' && parsed !== null ? Object.keys(parsed).length : 0
  } catch {
    return 0
  }
}
