// An upstream that answers without usage — an OpenAI-compatible server that ignores
// `stream_options.include_usage`, or a JSON answer with no `usage` — leaves the call's tokens and
// cost uncounted, and dashboards undercount without a sign. Each such call is marked on its span
// (`llm.usage.missing`) and counted (`llm_requests_unmetered_total`); this says it in the log, per
// provider and model: at the first such call, then at most once a minute with the count since.

/** The one method of the gateway's pino logger this needs. */
export interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void
}

interface Seen {
  loggedAt: number
  since: number
}

/** More distinct models than this and the memory of which were logged starts over. */
const MAX_MODELS = 1000

export class UnmeteredLog {
  private readonly logger: WarnLogger
  private readonly intervalMs: number
  private readonly seen = new Map<string, Seen>()

  constructor(logger: WarnLogger, intervalMs = 60_000) {
    this.logger = logger
    this.intervalMs = intervalMs
  }

  note(provider: string, model: string): void {
    const key = `${provider}/${model}`
    const now = Date.now()
    const seen = this.seen.get(key)
    if (seen && now - seen.loggedAt < this.intervalMs) {
      seen.since++
      return
    }
    if (!seen && this.seen.size >= MAX_MODELS) this.seen.clear()
    this.seen.set(key, { loggedAt: now, since: 0 })
    this.logger.warn(
      { provider, model, unmetered_calls: (seen?.since ?? 0) + 1 },
      `${key} answered without usage: the tokens and cost of its calls are not counted ` +
        '(llm.usage.missing on the span, llm_requests_unmetered_total); the server may ignore stream_options.include_usage',
    )
  }
}
