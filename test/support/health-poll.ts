// How long other callers wait while one request is processed: polls GET /health every ~20 ms
// for as long as `work` runs, and reports the slowest answer. A request that blocks the event
// loop shows up here as a /health answer as slow as the block.

export interface Polled<T> {
  result: T
  /** The slowest /health answer seen while `work` ran, in ms. */
  worstHealthMs: number
  /** How long `work` took, in ms. */
  ms: number
}

export async function whilePollingHealth<T>(baseUrl: string, work: () => Promise<T>): Promise<Polled<T>> {
  let worstHealthMs = 0
  let running = true
  const poller = (async () => {
    while (running) {
      const asked = performance.now()
      await (await fetch(`${baseUrl}/health`)).arrayBuffer()
      worstHealthMs = Math.max(worstHealthMs, performance.now() - asked)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  const started = performance.now()
  try {
    const result = await work()
    return { result, worstHealthMs, ms: performance.now() - started }
  } finally {
    running = false
    await poller
  }
}
