// A small Prometheus text-format parser: enough for the exposition the gateway serves on /metrics,
// and the selectors tests use on it (PromQL's `name{label="value"}`, exact label matching).

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  samples: Sample[]
  /** `# TYPE` per metric family. */
  types: Map<string, string>
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const pattern = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy
  let match: RegExpExecArray | null
  let consumed = 0
  while ((match = pattern.exec(text)) !== null) {
    labels[match[1]!] = match[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
    consumed = pattern.lastIndex
  }
  if (consumed !== text.length) throw new Error(`unparseable labels: {${text}}`)
  return labels
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  const value = Number(text)
  if (Number.isNaN(value) && text !== 'NaN') throw new Error(`unparseable value: ${text}`)
  return value
}

/** Every sample and `# TYPE` of a text exposition; throws on a line it cannot read. */
export function parsePrometheus(text: string): Exposition {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line)
      if (type) types.set(type[1]!, type[2]!)
      continue
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line)
    if (!match) throw new Error(`unparseable sample line: ${line}`)
    samples.push({ name: match[1]!, labels: parseLabels(match[2] ?? ''), value: parseValue(match[3]!) })
  }
  return { samples, types }
}

/** Samples of `name` whose labels include every given label (PromQL's `name{…}` selector). */
export function select(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )
}

/** The sum of the samples of `name` whose labels include every one of `labels` (0 if none). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return select(parsePrometheus(text), name, labels).reduce((sum, s) => sum + s.value, 0)
}

/**
 * GET `${baseUrl}/metrics`: the exposition text; throws unless the answer is a 200. `gatewayKey`
 * for a gateway started with GATEWAY_API_KEYS (then /metrics needs one).
 */
export async function scrapeMetrics(baseUrl: string, gatewayKey?: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`, gatewayKey === undefined ? {} : { headers: { authorization: `Bearer ${gatewayKey}` } })
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`)
  return response.text()
}
