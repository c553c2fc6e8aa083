// POST /v1/chat/completions: validation by schema, the work by ChatService, and the writing of
// the answer — JSON, or SSE frames with backpressure, aborting upstream the moment the caller goes.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ServerResponse } from 'node:http'
import type { ChatService } from '../../core/chat.ts'
import type { ChatRequest } from '../../core/types.ts'
import { traceHeaders } from '../../telemetry/trace-context.ts'
import { chatCompletionBodySchema } from './schema.ts'

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  // Proxies such as nginx buffer responses unless told not to; a buffered stream is no stream.
  'x-accel-buffering': 'no',
}

/** Resolves when the socket can take more, or when the caller has gone (then nothing will drain). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

async function writeFrames(reply: FastifyReply, headers: Record<string, string>, frames: AsyncIterable<string>) {
  const res = reply.raw
  reply.hijack()
  res.writeHead(200, { ...SSE_HEADERS, ...headers })
  for await (const frame of frames) {
    if (res.destroyed) break
    if (!res.write(frame)) await drained(res)
  }
  res.end()
}

export function chatCompletionsRoute(app: FastifyInstance, chat: ChatService): void {
  app.post<{ Body: ChatRequest }>(
    '/v1/chat/completions',
    { schema: { body: chatCompletionBodySchema } },
    async (request, reply) => {
      const caller = new AbortController()
      // 'close' also fires after a normal finish; only an unfinished response means the caller left.
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) caller.abort()
      })
      const result = await chat.handle(request.body, caller.signal)
      request.traceIds = result.ids
      request.llmModel = request.body.model
      const headers = traceHeaders(result.ids)
      if ('frames' in result) return writeFrames(reply, headers, result.frames)
      if ('error' in result) throw result.error
      return reply.headers(headers).send(result.json)
    },
  )
}
