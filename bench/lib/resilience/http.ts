// Requests for the resilience checks: every answer kept (status, headers, body, time), errors
// as values, a bounded number of requests at a fixed concurrency.
import { Agent, request, type IncomingHttpHeaders } from 'node:http'

export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
  ms: number
  /** Transport failure (refused, reset …): no status. */
  error?: string
}

export function post(agent: Agent, url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now()
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (part: Buffer) => parts.push(part))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString(), ms: performance.now() - started }))
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString(), ms: performance.now() - started, error: error.message }))
    })
    req.on('error', (error) => resolve({ status: 0, headers: {}, body: '', ms: performance.now() - started, error: error.message }))
    req.end(body)
  })
}

/** Runs `task(i)` for i < count, `concurrency` at a time; results in order. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      results[i] = await task(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return results
}

export const keepAlive = (maxSockets = 64) => new Agent({ keepAlive: true, maxSockets })

/** A complete OpenAI stream as the gateway writes it: ends with [DONE]. */
export const completeStream = (body: string) => body.endsWith('data: [DONE]\n\n')

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
}

export const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / (values.length || 1)
