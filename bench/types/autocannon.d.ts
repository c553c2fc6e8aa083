// The part of autocannon's API the bench uses (it ships no types). Declared here rather than
// installed so that `tsc` passes whether or not bench/node_modules has been installed.
declare module 'autocannon' {
  interface Options {
    url: string
    method?: string
    headers?: Record<string, string>
    body?: string
    connections?: number
    duration?: number
    pipelining?: number
    timeout?: number
  }
  interface Result {
    errors: number
    timeouts: number
    non2xx: number
    /** `sent`: requests written, those still out when the run stopped included. */
    requests: { average: number; total: number; sent: number }
  }
  interface Instance extends PromiseLike<Result> {
    on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): this
    stop(): void
  }
  function autocannon(options: Options): Instance
  export default autocannon
}
