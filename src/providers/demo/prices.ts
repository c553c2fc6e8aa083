// The demo's models cost nothing: every rate is 0, so a run against it shows a cost of $0.
import type { ModelPrice } from '../../pricing/prices.ts'

export const DEMO_PRICES: readonly ModelPrice[] = [
  {
    model: 'demo-chat', input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0,
    source: 'offline demo provider: free by definition',
    asOf: '2026-11-24',
  },
  {
    model: 'demo-reasoner', input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0,
    source: 'offline demo provider: free by definition',
    asOf: '2026-11-24',
  },
]
