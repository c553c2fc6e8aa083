// Latency samples kept whole (a Float64Array that grows), so percentiles are exact.

export interface Summary {
  count: number
  p50: number
  p99: number
  mean: number
  max: number
}

export class Samples {
  private values = new Float64Array(1 << 16)
  count = 0

  add(ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.count++] = ms
  }

  summary(): Summary {
    const sorted = this.values.slice(0, this.count).sort()
    const at = (p: number) => (this.count ? sorted[Math.min(this.count - 1, Math.ceil(p * this.count) - 1)]! : NaN)
    let sum = 0
    for (const v of sorted) sum += v
    return { count: this.count, p50: at(0.5), p99: at(0.99), mean: this.count ? sum / this.count : NaN, max: this.count ? sorted[this.count - 1]! : NaN }
  }
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
