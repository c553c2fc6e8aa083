// What Node's HTTP server reports before a request reaches Fastify's routes — a request not
// received within REQUEST_TIMEOUT_MS (Node answers 408), headers over the size limit (431), bytes
// that are not HTTP (400) — answered in OpenAI's error shape like every other error, instead of
// Fastify's own `{"error": "Request Timeout", "statusCode": 408}`.
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { GatewayError, type ErrorKind } from './errors.ts'

/** Sockets whose request ran out of time: the request's log line says 408, not a caller gone (499). */
const timedOutSockets = new WeakSet<Socket>()

export function timedOut(socket: Socket | null | undefined): boolean {
  return socket ? timedOutSockets.has(socket) : false
}

const ANSWERS: Record<string, { kind: ErrorKind; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    kind: 'request_timeout',
    message: 'The request (headers and body) was not received within REQUEST_TIMEOUT_MS.',
  },
  HPE_HEADER_OVERFLOW: { kind: 'headers_too_large', message: 'The request headers are larger than the server accepts.' },
}

/** Fastify's `clientErrorHandler`: the same status codes and socket handling as its default. */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection is already gone: nothing to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') timedOutSockets.add(socket)
  const { kind, message } = ANSWERS[error.code ?? ''] ?? { kind: 'invalid_request', message: 'The request is not valid HTTP.' }
  const failure = new GatewayError(kind, message, { code: kind === 'invalid_request' ? null : kind })
  const body = JSON.stringify({ ...failure.toBody(), trace_context: null })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status]}\r\nConnection: close\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }
  socket.destroy(error)
}
