// The SERVER span's request and response emit the events that go on with a request ('end' of the
// body, the response's 'finish' and 'close') in the span's context, also when the socket emits
// them later from outside any context: listeners registered by the handling (Fastify's body
// parser, answer.ts aborting the upstream call of a caller gone) see the request's span. They
// enter the context frame the handling started in (server-span.ts) instead of a new one.
import t from 'tap'
import { once } from 'node:events'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { context, ROOT_CONTEXT, type Context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { serverSpans, TracedRequest, tracedHttpClasses } from '../../src/telemetry/server-span.ts'

const manager = new AsyncLocalStorageContextManager().enable()
context.setGlobalContextManager(manager)
t.teardown(() => {
  context.disable()
})

t.test("a body ending after the headers, and the response's finish and close, run in the request's context", async (t) => {
  const seen: Record<string, boolean> = {}
  const inServerSpan = serverSpans()
  const server = createServer(tracedHttpClasses, (request, response) => {
    inServerSpan(request, response, '/v1/chat/completions', performance.now(), () => {
      const within = (request as TracedRequest).within as Context
      seen.scope = (request as TracedRequest).scope !== undefined
      request.on('end', () => {
        seen.end = context.active() === within
        // From outside the request's context: the response's events then come from there too.
        context.with(ROOT_CONTEXT, () => response.end('ok'))
      })
      response.on('finish', () => (seen.finish = context.active() === within))
      response.on('close', () => (seen.close = context.active() === within))
      request.resume()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const { port } = server.address() as AddressInfo
  const client = httpRequest({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-length': '5' } })
  client.flushHeaders()
  // The body in a packet of its own, well after the handler ran: 'end' comes from the socket.
  await new Promise((resolve) => setTimeout(resolve, 100))
  client.end('hello')
  const [answer] = (await once(client, 'response')) as [NodeJS.ReadableStream]
  answer.resume()
  await once(answer, 'end')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(seen, { scope: true, end: true, finish: true, close: true }, 'each listener saw the request context active')
})
