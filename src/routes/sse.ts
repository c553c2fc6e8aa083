// Writing server-sent events to a hijacked Fastify reply, with backpressure, stopping as soon as
// the caller has gone.
import type { FastifyReply } from 'fastify'
import type { ServerResponse } from 'node:http'

export const SSE_HEADERS = {
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

export async function writeEventStream(reply: FastifyReply, headers: Record<string, string>, frames: AsyncIterable<string>): Promise<void> {
  const res = reply.raw
  // Headers the hooks set on the reply (the Link to the trace UI) would be lost with the hijack.
  const hooked: Record<string, string | number | string[]> = {}
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) hooked[name] = value
  reply.hijack()
  res.writeHead(200, { ...SSE_HEADERS, ...hooked, ...headers })
  for await (const frame of frames) {
    if (res.destroyed) break
    if (!res.write(frame)) await drained(res)
  }
  res.end()
}

/**
 * A push-to-pull bridge: producers call `push` as events happen, the writer iterates. Unbounded
 * by design: a run's events are small and few, and the producer must not block on a slow reader.
 */
export class FrameQueue implements AsyncIterable<string> {
  private readonly frames: string[] = []
  private wake: (() => void) | undefined
  private closed = false

  push(frame: string): void {
    if (this.closed) return
    this.frames.push(frame)
    this.wake?.()
  }

  close(): void {
    this.closed = true
    this.wake?.()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      const frame = this.frames.shift()
      if (frame !== undefined) {
        yield frame
        continue
      }
      if (this.closed) return
      await new Promise<void>((resolve) => (this.wake = resolve))
      this.wake = undefined
    }
  }
}
