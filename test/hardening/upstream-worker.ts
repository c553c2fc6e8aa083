// The upstream emulator on a thread of its own, for tests that time the gateway's event loop from
// the test process: the emulator reads and parses the gateway's upstream bodies (up to ~20 MB of
// JSON for a 10 MB request), and on the test's own thread that work would delay the /health
// polls and be blamed on the gateway.
import { parentPort } from 'node:worker_threads'
import { startUpstream, type Reply } from '../support/upstream.ts'

export type WorkerRequest = { id: number; serve: Reply | undefined } | { id: number; close: true }
export interface WorkerReady {
  openaiBaseURL: string
  anthropicBaseURL: string
}

const port = parentPort!
const upstream = await startUpstream()
port.on('message', (message: WorkerRequest) => {
  if ('close' in message) {
    void upstream.close().then(() => port.postMessage({ id: message.id }))
    return
  }
  upstream.reset()
  upstream.setDefault(message.serve)
  port.postMessage({ id: message.id })
})
port.postMessage({ openaiBaseURL: upstream.openaiBaseURL, anthropicBaseURL: upstream.anthropicBaseURL } satisfies WorkerReady)
