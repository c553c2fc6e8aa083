// Preloaded into every server the bench starts (`node --expose-gc --import`): on SIGUSR2 it runs
// a full GC (when exposed) and writes one JSON line to stderr with the process's memory and its
// active handles by kind (sockets, timers …). Memory per open stream and leaks are then counted
// from outside, after a GC, without changing the servers under test.
process.on('SIGUSR2', () => {
  ;(globalThis as { gc?: () => void }).gc?.()
  const handles: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1
  const { rss, heapUsed } = process.memoryUsage()
  process.stderr.write(`${JSON.stringify({ bench_probe: { rssKiB: Math.round(rss / 1024), heapUsedKiB: Math.round(heapUsed / 1024), handles } })}\n`)
})
