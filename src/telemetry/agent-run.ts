// One reasoning-agent run as telemetry sees it: the `llm.reasoning_agent.stream` span, one
// `reasoning.thinking.iteration_N` span per model call (each holding that call's llm.request
// subtree), one `reasoning.tool.<name>` span per tool call, and the reasoning metrics.
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api'
import { activeContext } from './lean-context.ts'
import type { Usage } from '../core/types.ts'
import type { GatewayError } from '../errors.ts'
import type { Principal } from '../keys/principal.ts'
import { callerAttributes } from './caller.ts'
import { AGENT_ATTR, AGENT_LABEL, AGENT_METRIC, AGENT_SPAN, ATTR, LABEL } from './names.ts'
import { idsOf, type TraceIds } from './trace-context.ts'
import { modelSeries } from './instruments.ts'
import { counter, LabelSet, OVERFLOW } from './series.ts'
import { seriesKey } from './series-budget.ts'
import { gatewayTracer } from './setup.ts'

const AGENT_METRICS = {
  requests: counter(AGENT_METRIC.requests, 'Reasoning agent runs started', '{run}'),
  success: counter(AGENT_METRIC.success, 'Reasoning agent runs that produced an answer', '{run}'),
  iterations: counter(AGENT_METRIC.iterations, 'Model calls made by reasoning agent runs', '{iteration}'),
  toolCalls: counter(AGENT_METRIC.toolCalls, 'Tool calls made by reasoning agent runs', '{call}'),
}

// Only label sets of admitted models are kept: as bounded as the budget (times three efforts).
const runSets = new Map<string, LabelSet>()

export interface AgentRunInfo {
  provider: string
  /** The upstream model (`llm.model`, and the metrics' label). */
  model: string
  /** As the caller named it (`gen_ai.request.model`): an alias such as `fast`; defaults to `model`. */
  requestedModel?: string | undefined
  effort: string
  /** Who is calling: the run span, its iterations and tools name the key (never its secret). */
  caller?: Principal | undefined
}

export interface AgentRunTotals {
  iterations: number
  toolCalls: number
  usage: Usage
  cost: number | undefined
}

/** A child span of the run; `context` is where work inside it must run. */
export interface ChildSpan {
  context: Context
  /** `error`: the low-cardinality `error.type` and the message, when the work inside failed. */
  end(attributes?: Attributes, error?: { type: string; message: string }): void
}

export class AgentRun {
  private readonly span: Span
  private readonly runContext: Context
  private readonly info: AgentRunInfo
  private ended = false

  constructor(info: AgentRunInfo, parent: Context = activeContext()) {
    this.span = gatewayTracer().startSpan(
      AGENT_SPAN.run,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [ATTR.genAiOperation]: 'invoke_agent',
          [AGENT_ATTR.genAiAgentName]: 'reasoning_agent',
          [ATTR.genAiProvider]: info.provider,
          [ATTR.genAiRequestModel]: info.requestedModel ?? info.model,
          [ATTR.model]: info.model,
          [ATTR.provider]: info.provider,
          [AGENT_ATTR.effort]: info.effort,
          ...callerAttributes(info.caller),
        },
      },
      parent,
    )
    this.runContext = trace.setSpan(parent, this.span)
    this.info = info
  }

  /**
   * The target that answered the last iteration, when a route group moved on from its first: the
   * run span and the agent metrics name what served, as each iteration's llm.request does.
   */
  servedBy(target: { provider: string; model: string }): void {
    if (target.provider === this.info.provider && target.model === this.info.model) return
    this.info.provider = target.provider
    this.info.model = target.model
    this.span.setAttributes({ [ATTR.model]: target.model, [ATTR.provider]: target.provider, [ATTR.genAiProvider]: target.provider })
  }

  get ids(): TraceIds | undefined {
    return idsOf(this.span)
  }

  iteration(index: number): ChildSpan {
    return this.child(AGENT_SPAN.iteration(index), { [AGENT_ATTR.iterationIndex]: index })
  }

  tool(name: string, callId: string, argumentsCount: number): ChildSpan {
    return this.child(AGENT_SPAN.tool(name), {
      [ATTR.genAiOperation]: 'execute_tool',
      [AGENT_ATTR.toolName]: name,
      [AGENT_ATTR.toolArgumentsCount]: argumentsCount,
      [AGENT_ATTR.genAiToolName]: name,
      [AGENT_ATTR.genAiToolCallId]: callId,
      [AGENT_ATTR.genAiToolType]: 'function',
    })
  }

  succeed(totals: AgentRunTotals): void {
    this.end(totals)?.add(AGENT_METRICS.success, 1)
  }

  fail(totals: AgentRunTotals, error: GatewayError): void {
    if (this.ended) return
    this.span.setAttribute(ATTR.errorType, error.errorType)
    if (error.kind === 'cancelled') this.span.setAttribute(ATTR.cancelled, true)
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
    this.end(totals)
  }

  /** Ends the run once; the label set it was counted under, or undefined if it had ended. */
  private end(totals: AgentRunTotals): LabelSet | undefined {
    if (this.ended) return undefined
    this.ended = true
    const { usage } = totals
    this.span.setAttributes({
      [AGENT_ATTR.iterationsTotal]: totals.iterations,
      [AGENT_ATTR.toolCallsTotal]: totals.toolCalls,
      [ATTR.tokensInput]: usage.input,
      [ATTR.tokensOutput]: usage.output,
      [ATTR.tokensTotal]: usage.input + usage.output,
      [ATTR.tokensCacheRead]: usage.cacheRead,
      [ATTR.tokensCacheWrite]: usage.cacheWrite,
      [ATTR.genAiInputTokens]: usage.input,
      [ATTR.genAiOutputTokens]: usage.output,
      ...(totals.cost === undefined ? {} : { [ATTR.costTotal]: totals.cost }),
    })
    this.span.end()
    const labels = this.labels()
    labels.add(AGENT_METRICS.requests, 1)
    labels.add(AGENT_METRICS.iterations, totals.iterations)
    labels.add(AGENT_METRICS.toolCalls, totals.toolCalls)
    return labels
  }

  /**
   * Read when the run ends, not when it starts: the model has series of its own once one of its
   * calls succeeded (the run's own model calls included; see LlmCall), else the run overflows.
   * The effort is one of three.
   */
  private labels(): LabelSet {
    const { provider, model, effort } = this.info
    const key = seriesKey(provider, model, effort)
    const found = runSets.get(key)
    if (found !== undefined) return found
    if (!modelSeries.admits(seriesKey(provider, model), false)) return OVERFLOW
    const made = new LabelSet({ [LABEL.model]: model, [LABEL.provider]: provider, [AGENT_LABEL.effort]: effort })
    runSets.set(key, made)
    return made
  }

  private child(name: string, attributes: Attributes): ChildSpan {
    const span = gatewayTracer().startSpan(
      name,
      { kind: SpanKind.INTERNAL, attributes: { ...attributes, ...callerAttributes(this.info.caller) } },
      this.runContext,
    )
    return {
      context: trace.setSpan(this.runContext, span),
      end: (more, error) => {
        if (more) span.setAttributes(more)
        if (error) {
          span.setAttribute(ATTR.errorType, error.type)
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
        }
        span.end()
      },
    }
  }
}
