// GET /traces/{trace_id} rendered by a real browser (headless Debian Chromium): a real agent
// trace of the demo provider (calculator), with an evaluation posted for it, must show every
// span, mark the tool span, show the evaluation, paint a failed span red, and keep user content
// (captured prompts, evaluation comments) inert. Screenshots go to test/traces/output/.
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startGateway } from '../support/gateway.ts'
import { allSpans, call, SOLVE, waitForTrace } from './helpers.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
if (!existsSync(CHROMIUM)) {
  // The wording `… is not installed` is what .ci/run looks for to fail a run that skipped for want of a program.
  t.plan(0, `chromium is not installed (no ${CHROMIUM}): apt-get install -y chromium, or set CHROMIUM_PATH (.ci/run installs it, so CI skips nothing)`)
  process.exit(0)
}
t.setTimeout(180_000)

const OUTPUT = fileURLToPath(new URL('./output/', import.meta.url))
mkdirSync(OUTPUT, { recursive: true })
const profile = mkdtempSync(join(tmpdir(), 'trace-page-chromium-'))

const gateway = await startGateway({
  timeoutMs: 45_000,
  env: { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true', TRACE_UI_URL: 'http://localhost:16686/trace/{trace_id}', DEMO_TOKEN_DELAY_MS: '3' },
})
t.teardown(async () => {
  await gateway.stop()
  rmSync(profile, { recursive: true, force: true })
})

const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`,
]

function chromium(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, [...CHROMIUM_FLAGS, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`chromium ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-2000)}`))
      else resolve(stdout)
    })
  })
}

const dumpDom = (url: string) => chromium(['--dump-dom', url])
const screenshot = (url: string, file: string, height = 900) => chromium([`--screenshot=${join(OUTPUT, file)}`, `--window-size=1400,${height}`, url])

/** The opening tags of the elements carrying `attribute="value"` in the serialised DOM. */
function tagsWith(dom: string, attribute: string, value?: string): string[] {
  const pattern = new RegExp(`<[a-z]+\\b[^>]*\\b${attribute}="${value ?? '[^"]*'}"[^>]*>`, 'g')
  return dom.match(pattern) ?? []
}

const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1]

// Prompt text and an evaluation comment that would run as script if the page let them.
const INJECTED = `<script>document.title='pwned'</script><img src=x onerror="document.title='pwned'">`

const solved = await call(`${gateway.url}/v1/agents/reasoning`, {
  body: { ...SOLVE, messages: [{ role: 'user', content: `Solve: 15 * 23 + 7 ${INJECTED}` }] },
})
const traceId: string = solved.json.trace_context.trace_id
const agentSpanId: string = solved.json.trace_context.span_id
const evaluation = await call(`${gateway.url}/v1/evaluations`, {
  body: {
    trace_id: traceId,
    span_id: agentSpanId,
    name: 'correctness',
    scores: { accuracy: 1, clarity: 0.8 },
    label: 'pass',
    comment: `Right answer. ${INJECTED}`,
    attributes: { case_id: 47, evaluator: 'page-test' },
  },
})
const document = await waitForTrace(gateway.url, traceId, (d) => d.evaluations.length === 1)
const failed = await call(`${gateway.url}/v1/agents/reasoning`, { body: { ...SOLVE, messages: [{ role: 'user', content: 'Solve: 15 / 0' }] } })
const failedTraceId: string = failed.json.trace_context.trace_id
const failedDocument = await waitForTrace(gateway.url, failedTraceId)

t.test('every span of the agent trace is on the page, in tree order, each with a bar', async (t) => {
  t.equal(solved.status, 200)
  t.equal(evaluation.status, 200)
  const dom = await dumpDom(`${gateway.url}/traces/${traceId}`)
  const rows = tagsWith(dom, 'data-span-id')
  const expected = allSpans(document)
  t.equal(expected.length, 9, 'the real agent trace: server, agent, 2 iterations, 2 llm.request, 2 provider calls, 1 tool')
  t.same(rows.map((r) => attr(r, 'data-span-id')), expected.map((s) => s.span_id), 'one row per span, depth first')
  t.same(rows.map((r) => attr(r, 'data-span-name')), expected.map((s) => s.name))
  t.equal((dom.match(/<div class="bar" style="left:[\d.]+%;width:[\d.]+%"><\/div>/g) ?? []).length, 9, 'a bar per span, on the shared axis')
  t.match(dom, /class="root-name">POST \/v1\/agents\/reasoning</, 'headed by the root span')
  t.match(dom, /<dt>tokens<\/dt><dd>\d+ in · \d+ out<\/dd>/, 'tokens of the whole trace')
  t.match(dom, /<dt>cost<\/dt><dd>\$0<\/dd>/, 'and its cost')
  t.match(dom, /href="http:\/\/localhost:16686\/trace\/[0-9a-f]{32}"/, 'a link to the trace UI')
})

t.test('the tool span is marked as a tool call', async (t) => {
  const dom = await dumpDom(`${gateway.url}/traces/${traceId}`)
  const [tool] = tagsWith(dom, 'data-span-name', 'reasoning\\.tool\\.calculator')
  t.ok(tool, 'the calculator span is there')
  t.match(attr(tool!, 'class'), /\btool\b/, 'with the tool class')
  t.equal(attr(tool!, 'data-category'), 'tool')
  t.match(dom, /<span class="badge tool">tool calculator<\/span>/, 'and a tool badge')
  t.match(dom, /<span class="icon" aria-hidden="true">⚙<\/span><span class="span-name" title="reasoning\.tool\.calculator">/, 'and the tool icon')
  const others = tagsWith(dom, 'data-span-id').filter((tag) => tag !== tool)
  t.ok(others.every((tag) => !/\btool\b/.test(attr(tag, 'class') ?? '')), 'no other span is marked as a tool')
})

t.test('the evaluation posted later is shown with the trace and on the span it evaluates', async (t) => {
  const dom = await dumpDom(`${gateway.url}/traces/${traceId}`)
  const [card] = tagsWith(dom, 'data-evaluation-id', evaluation.json.id)
  t.ok(card, 'an evaluation card with its id')
  t.equal(attr(card!, 'data-target-span-id'), agentSpanId, 'naming the agent span it evaluates')
  t.match(dom, /<span class="evaluation-name">correctness<\/span>/)
  t.match(dom, /<span class="criterion">accuracy<\/span>.*?<span class="value">1<\/span>/s)
  t.match(dom, /<span class="criterion">clarity<\/span>.*?<span class="value">0\.8<\/span>/s)
  t.match(dom, /<span class="criterion">clarity<\/span><span class="meter" data-scale="1"[^>]*><i style="width:80\.0%"><\/i><\/span>/, 'its bar on the 0–1 scale')
  t.match(dom, /<code>case_id=47<\/code>/, 'with the link attributes')
  t.match(dom, new RegExp(`href="#span-${agentSpanId}">llm\\.reasoning_agent\\.stream</a>`), 'linking to the evaluated span')
  t.match(dom, new RegExp(`<details class="span k-agent" id="span-${agentSpanId}"[^]*?<a class="badge eval" href="#evaluations"[^>]*>★ correctness</a>`), 'the span carries the score badge')
})

t.test('user content stays text: no script, no handler, title untouched', async (t) => {
  const dom = await dumpDom(`${gateway.url}/traces/${traceId}`)
  t.notMatch(dom, /<script/i, 'no script element in the rendered DOM')
  t.notMatch(dom, /<img/i, 'no injected image element')
  t.notMatch(dom, /pwned<\/title>/, 'nothing ran')
  t.match(dom, /&lt;script&gt;document\.title='pwned'&lt;\/script&gt;/, 'the captured prompt is shown as text')
  t.match(dom, /Right answer\. &lt;script&gt;/, 'and so is the comment')
  const page = await call(`${gateway.url}/traces/${traceId}`)
  t.equal(page.headers.get('content-security-policy'), "default-src 'none'; style-src 'unsafe-inline'", 'and the CSP would stop a script anyway')
  t.notMatch(page.text, /<(script|link|img)\b/i, 'the served page loads nothing: no script, stylesheet or image tag')
})

t.test('a failed span is red', async (t) => {
  const tool = allSpans(failedDocument).find((s) => s.name === 'reasoning.tool.calculator')!
  t.equal(tool.status.code, 'ERROR', 'division by zero fails the tool call')
  const url = `${gateway.url}/traces/${failedTraceId}`
  const dom = await dumpDom(url)
  const [row] = tagsWith(dom, 'data-span-id', tool.span_id)
  t.match(attr(row!, 'class'), /\berror\b/, 'the row is marked as failed')
  t.match(row!, /^<details open=""/, 'and open on its details')
  t.match(dom, /<span class="badge err">⚠ tool_error<\/span>/, 'with its error.type')
  t.match(dom, /<p class="status-message">⚠ division by zero/, 'and its status message')

  // The colours, as the browser computes them: the served page with a probe script added,
  // loaded from a file (the page itself runs no script; its CSP would forbid one).
  const probe = `<script>for (const row of document.querySelectorAll('[data-span-id]')) {
    const s = getComputedStyle(row.querySelector('.bar')); const n = getComputedStyle(row.querySelector('.span-name'));
    row.dataset.barColor = s.backgroundColor; row.dataset.nameColor = n.color }</script>`
  const html = (await call(url)).text.replace('</body>', `${probe}</body>`)
  const file = join(profile, 'probe.html')
  writeFileSync(file, html)
  const probed = await dumpDom(pathToFileURL(file).href)
  const probedRow = tagsWith(probed, 'data-span-id', tool.span_id)[0]!
  t.equal(attr(probedRow, 'data-bar-color'), 'rgb(220, 38, 38)', 'its bar is red')
  t.equal(attr(probedRow, 'data-name-color'), 'rgb(220, 38, 38)', 'and so is its name')
  const fine = tagsWith(probed, 'data-span-name', 'llm\\.reasoning_agent\\.stream')[0]!
  t.not(attr(fine, 'data-bar-color'), 'rgb(220, 38, 38)', 'a span that did not fail is not red')
})

t.test('GET /traces lists the recent traces, newest first', async (t) => {
  const dom = await dumpDom(`${gateway.url}/traces`)
  const rows = tagsWith(dom, 'data-trace-id').map((tag) => attr(tag, 'data-trace-id'))
  t.ok(rows.indexOf(failedTraceId) >= 0 && rows.indexOf(failedTraceId) < rows.indexOf(traceId), 'the later trace comes first')
  const evaluationTrace = evaluation.json.trace_context.trace_id
  t.ok(rows.includes(evaluationTrace), 'the evaluation request has its own trace')
  t.match(dom, new RegExp(`<tr class="ok" data-trace-id="${traceId}">[^]*?demo-chat[^]*?★ 1`), 'model and evaluation count on the line')
  t.match(dom, /<a class="scope" href="\/traces\?all=1">show all traces<\/a>/, 'and a link to every trace, lookups included')
})

t.test('screenshots for a human to look at', async (t) => {
  await screenshot(`${gateway.url}/traces/${traceId}`, 'agent-trace.png')
  await screenshot(`${gateway.url}/traces/${failedTraceId}`, 'failed-tool-trace.png', 700)
  await screenshot(`${gateway.url}/traces`, 'recent-traces.png', 600)
  for (const file of ['agent-trace.png', 'failed-tool-trace.png', 'recent-traces.png']) t.ok(existsSync(join(OUTPUT, file)), `${file} written to test/traces/output/`)
  t.comment(`screenshots in ${OUTPUT}`)
})

