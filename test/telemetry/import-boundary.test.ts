// STYLE: src/telemetry/ is the only place that imports @opentelemetry/*. Spans and metrics are
// recorded around routes, providers and translators, never inside them, so that a telemetry
// change stays in one folder and a provider can be read without knowing OpenTelemetry. An import
// elsewhere (a type import included) is the first step away from that: this names the file.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const src = fileURLToPath(new URL('../../src/', import.meta.url))
const telemetry = join(src, 'telemetry')

/** `import … from '@opentelemetry/…'`, `import '@opentelemetry/…'`, `import('@opentelemetry/…')`, `export … from`, `require(…)`. */
const OTEL_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]@opentelemetry\//

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return path === telemetry ? [] : sourceFiles(path)
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : []
  })
}

t.test('no file outside src/telemetry/ imports @opentelemetry/*', async (t) => {
  const files = sourceFiles(src)
  t.ok(files.some((file) => file.endsWith('server.ts')), 'src/ was read')
  const offenders = files.filter((file) => OTEL_IMPORT.test(readFileSync(file, 'utf8'))).map((file) => relative(src, file))
  t.same(offenders, [], 'move what they need into a function in src/telemetry/')
})

t.test('the check sees each form of import', async (t) => {
  for (const line of [
    "import { context } from '@opentelemetry/api'",
    'import type { Context } from "@opentelemetry/api"',
    "import '@opentelemetry/sdk-node'",
    "const sdk = await import('@opentelemetry/sdk-node')",
    "export { trace } from '@opentelemetry/api'",
  ]) {
    t.match(line, OTEL_IMPORT, line)
  }
  t.notMatch("// the HTTP instrumentation (@opentelemetry/instrumentation-http) names it", OTEL_IMPORT, 'a mention in a comment is not an import')
})
