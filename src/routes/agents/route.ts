// POST /v1/agents/reasoning and GET /v1/agents/tools: the reasoning agent over HTTP. JSON answers
// the whole run; SSE streams it as named events (iteration, thinking.delta, tool.call,
// tool.result, answer.delta) and ends with `done` (the same summary) or `error`.
import type { FastifyInstance } from 'fastify'
import type { AgentEvent, AgentRequest, ReasoningAgent } from '../../agent/loop.ts'
import { EFFORTS, MAX_ITERATIONS_LIMIT } from '../../agent/effort.ts'
import type { Toolbox } from '../../agent/toolbox.ts'
import { asGatewayError } from '../../errors.ts'
import { inRequestContext } from '../../telemetry/server-span.ts'
import { traceContextBody, traceHeaders, type TraceIds } from '../../telemetry/trace-context.ts'
import { chatCompletionBodySchema } from '../chat-completions/schema.ts'
import { FrameQueue, writeEventStream } from '../sse.ts'
import { callOptions, callerSignal } from '../answer.ts'

const agentBodySchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: chatCompletionBodySchema.properties.model,
    messages: chatCompletionBodySchema.properties.messages,
    // OpenAI's own cap on the tools of one request; also keeps a 10 MB list of names a cheap 400.
    tools: { type: 'array', maxItems: 128, items: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' }, uniqueItems: true },
    reasoning_effort: { enum: EFFORTS },
    max_iterations: { type: 'integer', minimum: 1, maximum: MAX_ITERATIONS_LIMIT },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    stream: { type: 'boolean' },
  },
} as const

function namedEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/** Health of the MCP servers, for GET /v1/agents/tools. */
export interface ToolHealthSource {
  health(): unknown[]
}

export function agentRoutes(app: FastifyInstance, agent: ReasoningAgent, toolbox: Toolbox, mcp: ToolHealthSource | undefined): void {
  app.get('/v1/agents/tools', async () => ({
    object: 'list',
    data: toolbox.all().map((tool) => ({
      name: tool.name,
      description: tool.description,
      source: tool.source,
      parameters: tool.parameters,
    })),
    mcp_servers: mcp?.health() ?? [],
  }))

  app.post<{ Body: AgentRequest }>('/v1/agents/reasoning', { schema: { body: agentBodySchema } }, async (request, reply) => {
    const body = request.body
    request.llmModel = body.model
    // Unknown model or tool: a 4xx before any span of the run exists.
    const prepared = agent.prepare(body)
    const signal = callerSignal(reply.raw)
    let ids: TraceIds | undefined
    const onStart = (runIds: TraceIds | undefined) => {
      ids = runIds
      request.traceIds = runIds
    }

    if (body.stream !== true) {
      const summary = await inRequestContext(request.raw, () => agent.run(body, prepared, signal, () => {}, onStart, callOptions(request)))
      return reply.headers(traceHeaders(ids)).send(summary)
    }

    const queue = new FrameQueue()
    const emit = (e: AgentEvent) => queue.push(namedEvent(e.event, e.data))
    const finished = inRequestContext(request.raw, () => agent.run(body, prepared, signal, emit, onStart, callOptions(request))).then(
      (summary) => queue.push(namedEvent('done', summary)),
      (error: unknown) => {
        const failure = asGatewayError(error)
        queue.push(namedEvent('error', { ...failure.toBody(), trace_context: traceContextBody(ids) }))
      },
    )
    void finished.finally(() => queue.close())
    // The run has started synchronously up to its first await, so its ids are known by now.
    return writeEventStream(reply, traceHeaders(ids), queue)
  })
}
