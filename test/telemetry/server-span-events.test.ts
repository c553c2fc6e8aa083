// The SERVER span's context is handed to the request's handling, not entered (server-span.ts):
// whatever runs for the request later, from a socket event outside any context (the body's 'end'
// after the headers, the response's 'finish' and 'close'), finds it through requestContext, for a
// request of the gateway's own classes and for one made otherwise (Fastify's inject()); and
// inRequestContext makes it the active one for what is traced through the active context. And the
// span ends once, when the response closes, also when it closed before the span began (a caller
// that left while its key was being settled).
import t from 'tap'
import { once } from 'node:events'
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type Span, type SpanContext, type Tracer, type TracerProvider } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { inRequestContext, requestContext, serverSpans, tracedHttpClasses } from '../../src/telemetry/server-span.ts'

const manager = new AsyncLocalStorageContextManager().enable()
context.setGlobalContextManager(manager)

/** Spans that count their ends, from a tracer provider of this test's (the gateway's tracer takes the global one). */
const ends: number[] = []
function countingSpan(): Span {
  const index = ends.push(0) - 1
  const spanContext: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: `b7ad6b71${String(index).padStart(8, '0')}`, traceFlags: TraceFlags.SAMPLED }
  const span: Span = {
    spanContext: () => spanContext,
    setAttribute: () => span,
    setAttributes: () => span,
    addEvent: () => span,
    addLink: () => span,
    addLinks: () => span,
    setStatus: () => span,
    updateName: () => span,
    end: () => void ends[index]!++,
    isRecording: () => ends[index] === 0,
    recordException: () => {},
  }
  return span
}
const tracer = { startSpan: () => countingSpan() } as unknown as Tracer
trace.setGlobalTracerProvider({ getTracer: () => tracer } satisfies TracerProvider)
t.teardown(() => {
  context.disable()
  trace.disable()
})

/** A request whose body comes in a packet of its own, well after the handler ran: 'end' comes from the socket. */
async function lateBody(server: ReturnType<typeof createServer>): Promise<void> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const client = httpRequest({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-length': '5' } })
  client.flushHeaders()
  await new Promise((resolve) => setTimeout(resolve, 100))
  client.end('hello')
  const [answer] = (await once(client, 'response')) as [NodeJS.ReadableStream]
  answer.resume()
  await once(answer, 'end')
  await new Promise((resolve) => setTimeout(resolve, 50))
  server.close()
}

for (const [name, options] of [
  ['the gateway\'s request and response classes', tracedHttpClasses],
  ['plain requests and responses (as inject() makes)', {}],
] as const) {
  t.test(`${name}: the span's context is found from the body's end and the response's finish and close`, async (t) => {
    const seen: Record<string, boolean> = {}
    const inServerSpan = serverSpans()
    const server = createServer(options, (request: IncomingMessage, response: ServerResponse) => {
      inServerSpan(request, response, '/v1/chat/completions', performance.now(), () => {
        const within: Context = requestContext(request)
        seen.span = trace.getSpan(within) !== undefined
        request.on('end', () => {
          seen.end = requestContext(request) === within
          seen.entered = inRequestContext(request, () => context.active() === within)
          context.with(ROOT_CONTEXT, () => response.end('ok'))
        })
        response.on('finish', () => (seen.finish = requestContext(request) === within))
        response.on('close', () => (seen.close = requestContext(request) === within))
        request.resume()
      })
    })
    await lateBody(server)
    t.same(seen, { span: true, end: true, entered: true, finish: true, close: true }, 'each listener found the request span\'s context')
  })
}

t.test('a request that is not traced has the active context as its own', async (t) => {
  const inServerSpan = serverSpans()
  let found: Context | undefined
  const server = createServer(tracedHttpClasses, (request, response) => {
    // /metrics is never traced (request-span.ts): no span is made, nothing is handed over.
    request.url = '/metrics'
    inServerSpan(request, response, '/metrics', performance.now(), () => {
      found = requestContext(request)
      request.resume()
      request.on('end', () => response.end('ok'))
    })
  })
  await lateBody(server)
  t.equal(trace.getSpan(found!), undefined, 'no span in the context of an untraced request')
})

for (const [name, options] of [
  ["the gateway's request and response classes", tracedHttpClasses],
  ['plain requests and responses (as inject() makes)', {}],
] as const) {
  t.test(`${name}: the span ends once the response closes, also when it closed before the span began`, async (t) => {
    ends.length = 0
    const inServerSpan = serverSpans()
    let handled = 0
    const server = createServer(options, (request: IncomingMessage, response: ServerResponse) => {
      const begin = () => inServerSpan(request, response, '/v1/chat/completions', performance.now(), () => handled++)
      // The first request's span begins at once; the second's only after its caller left.
      if (request.headers['x-leave'] === undefined) {
        begin()
        request.resume()
        request.on('end', () => response.end('ok'))
      } else response.once('close', () => setImmediate(begin))
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.teardown(() => server.close())
    const { port } = server.address() as AddressInfo
    const answered = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions' })
    answered.end('hello')
    const [answer] = (await once(answered, 'response')) as [NodeJS.ReadableStream]
    answer.resume()
    await once(answer, 'end')
    const left = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { 'x-leave': '1', 'content-length': '5' } })
    left.on('error', () => {})
    left.flushHeaders()
    await new Promise((resolve) => setTimeout(resolve, 50))
    left.destroy()
    while (handled < 2) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.same(ends, [1, 1], 'each span ended once: the answered one at its close, the other as it began')
  })
}
