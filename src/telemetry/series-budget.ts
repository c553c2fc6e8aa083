// Bounds the label sets of the gateway's metrics over the life of the process, so that callers
// who invent model, evaluation or criterion names cannot grow /metrics (and the time every scrape
// holds the event loop) without end.
//
// The series kept in series.ts have no limit but these budgets. (Recorded on SDK instruments, as
// for an operator's preloaded MeterProvider, the SDK's own limit of 2,000 per instrument would
// not do either: read with cumulative temporality it counts only the label sets recorded since
// the last collection, so after each scrape or export another 2,000 new ones are accepted, and the
// cumulative series stay forever.) A budget admits the first `limit` label sets it sees and
// answers `false` for every later new one, which the caller then records under the overflow
// label set (series.ts) — the same `otel.metric.overflow=true` point the SDK itself uses, so a
// query or alert reads both alike.

export class SeriesBudget {
  private readonly admitted = new Set<string>()
  readonly limit: number

  constructor(limit: number) {
    this.limit = limit
  }

  /**
   * Whether the label set named `key` has series of its own; with `admit`, it gets them while the
   * budget lasts. Only what proved real should be admitted (a model that answered): names that
   * only ever fail (`openai/junk-1` … `-50`, each an upstream 404) would otherwise use the budget
   * up and push every real model into the overflow series until a restart.
   */
  admits(key: string, admit = true): boolean {
    if (this.admitted.has(key)) return true
    if (!admit || this.admitted.size >= this.limit) return false
    this.admitted.add(key)
    return true
  }
}

/** A key for a label set from its values, each length-prefixed so no two sets share one. */
export function seriesKey(...values: Array<string | undefined>): string {
  let key = ''
  for (const value of values) key += value === undefined ? '-|' : `${value.length}|${value}`
  return key
}
