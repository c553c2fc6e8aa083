// MCP tools: the tools config file, discovery over stdio and Streamable HTTP, results and
// errors as the model sees them, timeouts, crashes and restarts, and a clean close.
import t, { type Test } from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { McpServers, type McpLogger, type McpRestartPolicy } from '../../src/agent/mcp.ts'
import { loadToolsConfig, type ToolsConfig } from '../../src/agent/tools-config.ts'
import { ToolError, type AgentTool } from '../../src/agent/tools/types.ts'
import { ConfigError } from '../../src/config.ts'
import { createLogger } from '../../src/log.ts'
import { startHttpMcpServer, type HttpMcpServer } from './fixtures/mcp-http-server.ts'

// The top-level tests are independent (each its own servers): run them side by side.
t.jobs = 4

const stdioScript = join(import.meta.dirname, 'fixtures', 'mcp-stdio-server.ts')
/** The fixture server; a generous start deadline, as a busy machine starts Node slowly. */
const stdioServer = { command: process.execPath, args: [stdioScript], startTimeoutMs: 60_000 }
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'mcp-test-')))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

// The gateway's pino logger fits where McpServers wants a logger.
const pinoFits: McpLogger = createLogger('silent')
void pinoFits

interface LogLine {
  level: string
  obj: Record<string, unknown>
  msg: string | undefined
}
function collectingLogger(): McpLogger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg })
  }
  return { lines, info: at('info'), warn: at('warn'), error: at('error') }
}

let files = 0
function writeConfig(content: unknown): string {
  const path = join(dir, `tools-${++files}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const signal = new AbortController().signal

t.test('tools config validation', async (t) => {
  const env = { MCP_TEST_TOKEN: 'sekrit', MCP_TEST_GREETING: 'hi' }
  const fails = (content: unknown, pattern: RegExp, name: string) => {
    const path = writeConfig(content)
    t.throws(() => loadToolsConfig(path, env), ConfigError, name)
    try {
      loadToolsConfig(path, env)
    } catch (error) {
      t.match((error as Error).message, `GATEWAY_TOOLS_CONFIG (${path})`, `${name}: names the file`)
      t.match((error as Error).message, pattern, `${name}: says what is wrong`)
    }
  }
  fails('{"mcpServers": {', /is not valid JSON/, 'bad JSON')
  fails('[1, 2]', /must hold a JSON object/, 'not an object')
  fails({ mcpServers: { 'bad name!': { command: 'node' } } }, /server name "bad name!" must be 1 to 32 letters/, 'bad name')
  fails({ mcpServers: { ['x'.repeat(33)]: { command: 'node' } } }, /server name "x{33}"/, 'long name')
  fails({ mcpServers: { nothing: { args: ['a'] } } }, /mcpServers\.nothing needs either command .* or url/, 'no command, no url')
  fails({ mcpServers: { both: { command: 'node', url: 'http://127.0.0.1/mcp' } } }, /mcpServers\.both has both command and url/, 'both')
  fails({ mcpServers: { s: { command: '' } } }, /mcpServers\.s\.command must be a non-empty string/, 'empty command')
  fails({ mcpServers: { s: { command: 'node', args: [1] } } }, /mcpServers\.s\.args must be an array of strings/, 'args')
  fails({ mcpServers: { s: { command: 'node', env: { A: 1 } } } }, /mcpServers\.s\.env\.A must be a string/, 'env value')
  fails({ mcpServers: { s: { command: 'node', env: { T: '${MCP_TEST_UNSET}' } } } }, /mcpServers\.s\.env\.T references \$\{MCP_TEST_UNSET\}, which is not set/, 'unset variable')
  fails({ mcpServers: { h: { url: 'ftp://127.0.0.1/mcp' } } }, /mcpServers\.h\.url must be an http\(s\) URL/, 'url scheme')
  fails({ mcpServers: { h: { url: 'not a url' } } }, /mcpServers\.h\.url must be an http\(s\) URL/, 'url')
  fails({ mcpServers: { h: { url: 'http://127.0.0.1/mcp', env: {} } } }, /mcpServers\.h\.env only applies to command servers/, 'env on url')
  fails({ mcpServers: { h: { url: 'http://127.0.0.1/sse', type: 'sse' } } }, /mcpServers\.h\.type "sse" is not supported/, 'sse')
  fails({ mcpServers: { s: { command: 'node', timeoutMs: -5 } } }, /mcpServers\.s\.timeoutMs must be a whole number/, 'timeout')
  fails({ mcpServers: {}, toolTimeoutMs: '30s' }, /toolTimeoutMs must be a whole number/, 'toolTimeoutMs')
  fails({ mcpServers: [] }, /mcpServers must be an object/, 'mcpServers array')

  const missing = join(dir, 'nope.json')
  t.throws(() => loadToolsConfig(missing), { name: 'ConfigError', message: new RegExp(`GATEWAY_TOOLS_CONFIG \\(${missing}\\) could not be read`) })

  const path = writeConfig({
    globalShortcut: 'ignored, as in Claude Desktop configs',
    toolTimeoutMs: 1234,
    mcpServers: {
      local: { command: 'node', args: ['server.js'], env: { TOKEN: 'Bearer ${MCP_TEST_TOKEN}' }, cwd: 'sub' },
      remote: { type: 'http', url: 'http://127.0.0.1:9/mcp', headers: { authorization: 'Bearer ${MCP_TEST_TOKEN}' }, timeoutMs: 50 },
      off: { command: 'node', disabled: true },
    },
  })
  const config = loadToolsConfig(path, env)
  t.same(config, {
    path,
    toolTimeoutMs: 1234,
    mcpServers: {
      local: { transport: 'stdio', command: 'node', args: ['server.js'], env: { TOKEN: 'Bearer sekrit' }, cwd: join(dir, 'sub'), timeoutMs: 1234, startTimeoutMs: 15_000 },
      remote: { transport: 'http', url: 'http://127.0.0.1:9/mcp', headers: { authorization: 'Bearer sekrit' }, timeoutMs: 50, startTimeoutMs: 15_000 },
    },
    secrets: ['sekrit', 'sekrit'],
  })
  t.same(loadToolsConfig(writeConfig({}), env).mcpServers, {}, 'no servers is fine')
})

t.test('stdio and Streamable HTTP servers', async (t) => {
  let http: HttpMcpServer = await startHttpMcpServer()
  t.teardown(() => http.close())
  mkdirSync(join(dir, 'work'))
  const config = loadToolsConfig(
    writeConfig({
      toolTimeoutMs: 5_000,
      mcpServers: {
        stdio: { ...stdioServer, env: { GREETING: 'hello ${MCP_TEST_GREETING}' }, cwd: 'work', timeoutMs: 1_000 },
        http: { url: http.url, headers: { 'x-test': 'yes' }, startTimeoutMs: 60_000 },
        paged: { type: 'streamable-http', url: `${http.origin}/paged/mcp`, startTimeoutMs: 60_000 },
        broken: { command: join(dir, 'no-such-server') },
      },
    }),
    { MCP_TEST_GREETING: 'from the gateway' },
  )
  const logger = collectingLogger()
  const started = Date.now()
  // Quicker restarts than the default (0.5 s doubling up to 60 s) to keep the test short.
  const mcp = await McpServers.start(config, { logger, restart: { firstDelayMs: 100, maxDelayMs: 200, stableAfterMs: 60_000 } })
  t.teardown(() => mcp.close())
  t.comment(`started in ${Date.now() - started} ms`)

  const tools = new Map(mcp.tools().map((tool) => [tool.name, tool]))
  const tool = (name: string): AgentTool => {
    const found = tools.get(name)
    if (found === undefined) throw new Error(`no tool ${name}`)
    return found
  }
  const run = (name: string, args: Record<string, unknown> = {}, options = { signal }) => tool(name).run(args, options)
  const firstPid = mcp.health().find((h) => h.server === 'stdio')?.pid ?? -1

  t.test('discovery', async (t) => {
    t.same(
      [...tools.keys()],
      [
        'stdio__network_env', 'stdio__add', 'stdio__fail', 'stdio__hang', 'stdio__crash', 'stdio__echo', 'stdio__picture', 'stdio__whoami',
        'http__multiply', 'http__lookup',
        'paged__one', 'paged__dotted_name_v2', 'paged__three', 'paged__a_tool_name_that_is_long_enough_to_overflow',
      ],
      'named <server>__<tool>, sanitized, every page of a paginated list',
    )
    for (const name of tools.keys()) t.match(name, /^[a-zA-Z0-9_-]{1,64}$/)
    t.equal(tool('stdio__add').source, 'mcp:stdio')
    t.equal(tool('http__multiply').source, 'mcp:http')
    t.equal(tool('paged__one').source, 'mcp:paged')
    t.equal(tool('stdio__add').description, 'Adds two numbers')
    t.match(tool('stdio__add').parameters, {
      type: 'object',
      properties: { a: { type: 'number', description: 'first addend' }, b: { type: 'number' } },
      required: ['a', 'b'],
    })
    t.match(tool('stdio__echo').parameters, { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] })
    t.match(tool('http__multiply').parameters, { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] })
    t.match(tool('http__lookup').parameters, { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] })
    t.same(tool('paged__dotted_name_v2').parameters, { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] }, 'schema passed through')
    t.equal(tool('paged__dotted_name_v2').description, 'Needs sanitizing')
    t.equal(tool('paged__three').description, '')

    const health = new Map(mcp.health().map((h) => [h.server, h]))
    t.match(health.get('stdio'), { server: 'stdio', transport: 'stdio', healthy: true, tools: 8, restarts: 0, pid: Number })
    t.same(health.get('http'), { server: 'http', transport: 'http', healthy: true, tools: 2, restarts: 0 })
    t.same(health.get('paged'), { server: 'paged', transport: 'http', healthy: true, tools: 4, restarts: 0 })
    t.match(health.get('broken'), { server: 'broken', transport: 'stdio', healthy: false, tools: 0, restarts: Number, error: /failed to start: .*ENOENT.*; restarting (in 1 s|now)$/ })
    t.ok(logger.lines.some((l) => l.level === 'error' && l.obj.mcpServer === 'broken'), 'failed start logged')
    t.ok(logger.lines.some((l) => l.obj.mcpServer === 'stdio' && l.obj.stderr === 'test-stdio MCP server starting'), 'stderr logged')
  })

  t.test('results', async (t) => {
    t.equal(await run('stdio__add', { a: 2, b: 3 }), '5')
    t.equal(await run('stdio__echo', { text: 'héllo' }), 'héllo')
    t.equal(await run('http__multiply', { a: 6, b: 7 }), '42')
    t.equal(await run('http__lookup', { key: 'pi' }), '3.14159')
    t.equal(await run('stdio__picture'), 'a red dot\n{"type":"image","mimeType":"image/png","bytes":16}')
    t.equal(
      await run('paged__dotted_name_v2', { x: 1 }),
      'called dotted.name/v2 with {"x":1}\n{"type":"resource_link","uri":"file:///tmp/report.txt","name":"report","mimeType":"text/plain"}',
      'called under its own name; non-text blocks described',
    )
    const whoami = JSON.parse(await run('stdio__whoami')) as { cwd: string; greeting: string }
    // A ${VAR} value may be a secret: what the server says is scrubbed of it (the tools below show the server got it).
    t.equal(whoami.greeting, 'hello [redacted]', '${VAR} in env')
    t.equal(whoami.cwd, join(dir, 'work'), 'cwd relative to the config file')
    // Concurrent calls on one connection.
    t.same(await Promise.all([1, 2, 3, 4].map((n) => run('stdio__add', { a: n, b: n }))), ['2', '4', '6', '8'])
  })

  t.test('failures become ToolErrors', async (t) => {
    await t.rejects(run('stdio__fail'), new ToolError('deliberate failure'))
    await t.rejects(run('http__lookup', { key: 'nope' }), { name: 'ToolError', message: 'no entry for "nope"' })
    await t.rejects(run('stdio__add', { a: 'two', b: 3 }), { name: 'ToolError', message: /invalid/i }, 'bad arguments')
  })

  t.test('a hanging call times out and the server goes on', async (t) => {
    const start = Date.now()
    await t.rejects(run('stdio__hang'), { name: 'ToolError', message: 'MCP tool stdio__hang timed out after 1000 ms' })
    const elapsed = Date.now() - start
    t.ok(elapsed >= 980 && elapsed < 5_000, `cut at the timeout (${elapsed} ms)`)
    t.equal(await run('stdio__add', { a: 1, b: 1 }), '2')
    t.equal(await run('stdio__add', { a: 1, b: 2 }), '3')

    const controller = new AbortController()
    setTimeout(() => controller.abort(), 30)
    await t.rejects(run('stdio__hang', {}, { signal: controller.signal }), { name: 'ToolError', message: 'MCP tool stdio__hang was cancelled' })
    await t.rejects(run('stdio__add', { a: 1, b: 1 }, { signal: controller.signal }), { name: 'ToolError', message: /cancelled/ }, 'already aborted')
    t.equal(await run('stdio__add', { a: 2, b: 2 }), '4')
    t.match(mcp.health().find((h) => h.server === 'stdio'), { healthy: true, restarts: 0, pid: firstPid })
  })

  t.test('a crash fails the call, the server is restarted', async (t) => {
    await t.rejects(run('stdio__crash'), { name: 'ToolError', message: 'MCP server stdio exited' })
    t.match(mcp.health().find((h) => h.server === 'stdio'), { healthy: false, error: /^exited; restarting (in 1 s|now) \(stderr: .*crashing on purpose\)$/ })
    await t.rejects(run('stdio__add', { a: 1, b: 1 }), { name: 'ToolError', message: 'MCP server stdio is unavailable: exited (restarting)' }, 'fails fast while down')
    t.notOk(alive(firstPid), 'the crashed process is gone')
    await until('stdio is healthy again', () => mcp.health().find((h) => h.server === 'stdio')?.healthy === true)
    const health = mcp.health().find((h) => h.server === 'stdio')
    t.match(health, { healthy: true, restarts: 1, pid: Number })
    t.not(health?.pid, firstPid, 'a new process')
    t.equal(await run('stdio__add', { a: 20, b: 22 }), '42', 'tools work again')
    t.equal(await run('stdio__echo', { text: 'back' }), 'back')
  })

  t.test('a server that stops answering is restarted', async (t) => {
    const before = mcp.health().find((h) => h.server === 'stdio')
    const results = await Promise.allSettled([1, 2, 3].map(() => run('stdio__hang')))
    for (const result of results) t.match(result, { status: 'rejected', reason: { name: 'ToolError', message: /timed out after 1000 ms/ } })
    await until('stdio restarted', () => {
      const h = mcp.health().find((h) => h.server === 'stdio')
      return h?.healthy === true && h.restarts === 2
    })
    const after = mcp.health().find((h) => h.server === 'stdio')
    t.not(after?.pid, before?.pid)
    t.equal(await run('stdio__add', { a: 1, b: 1 }), '2')
    if (before?.pid !== undefined) await until('the wedged process is gone', () => !alive(before.pid ?? 0))
  })

  t.test('an HTTP server that goes away is reconnected', async (t) => {
    const port = http.port
    await http.close()
    await t.rejects(run('http__multiply', { a: 2, b: 2 }), { name: 'ToolError', message: /^MCP server http is unavailable: / })
    t.match(mcp.health().find((h) => h.server === 'http'), { healthy: false, error: /unreachable/ })
    await t.rejects(run('http__lookup', { key: 'pi' }), { name: 'ToolError', message: /^MCP server http is unavailable: / })
    http = await startHttpMcpServer(port)
    await until('http is healthy again', () => mcp.health().find((h) => h.server === 'http')?.healthy === true)
    t.equal(await run('http__multiply', { a: 3, b: 3 }), '9')
    t.match(mcp.health().find((h) => h.server === 'http'), { healthy: true, restarts: Number })
  })

  t.test('broken server tools are simply absent, and it is still tried', async (t) => {
    t.notOk(mcp.tools().some((tool) => tool.name.startsWith('broken__')))
    await until('broken was tried again', () => (mcp.health().find((h) => h.server === 'broken')?.restarts ?? 0) >= 2)
    t.ok(logger.lines.some((l) => l.msg === 'MCP server broken could not be started' && l.obj.retryInMs === 200), 'each try logged with the wait before the next')
  })

  t.test('close', async (t) => {
    const pid = mcp.health().find((h) => h.server === 'stdio')?.pid
    t.type(pid, 'number')
    t.ok(alive(pid ?? 0))
    await mcp.close()
    t.notOk(alive(pid ?? 0), 'the stdio child is gone')
    t.notOk(alive(firstPid), 'and the first one')
    for (const h of mcp.health()) t.match(h, { healthy: false })
    await t.rejects(run('stdio__add', { a: 1, b: 1 }), { name: 'ToolError', message: /unavailable: closed/ })
    await mcp.close()
    t.pass('close twice is fine')
  })
})

/** One fixture server named `name` under `restart`, with its tools by their own names. */
async function startOne(t: Test, name: string, restart: McpRestartPolicy) {
  const config: ToolsConfig = loadToolsConfig(writeConfig({ mcpServers: { [name]: { ...stdioServer } } }))
  const logger = collectingLogger()
  const mcp = await McpServers.start(config, { logger, restart })
  t.teardown(() => mcp.close())
  const tool = (short: string): AgentTool => {
    const found = mcp.tools().find((candidate) => candidate.name === `${name}__${short}`)
    if (found === undefined) throw new Error(`no tool ${short}`)
    return found
  }
  return { mcp, logger, tool, crash: tool('crash') }
}

t.test('a server that keeps crashing is restarted again and again, each wait twice the last up to the cap', async (t) => {
  const { mcp, logger, tool, crash } = await startOne(t, 'fragile', { firstDelayMs: 50, maxDelayMs: 200, stableAfterMs: 60_000 })
  for (let n = 1; n <= 5; n++) {
    await t.rejects(crash.run({}, { signal }), { message: 'MCP server fragile exited' })
    await until(`restart ${n}`, () => mcp.health()[0]?.healthy === true && mcp.health()[0]?.restarts === n)
  }
  // Every wait, whether after a crash or a failed restart (a busy machine may time one out).
  const waits = logger.lines.filter((l) => l.obj.retryInMs !== undefined).map((l) => l.obj.retryInMs)
  t.same(waits.slice(0, 5), [50, 100, 200, 200, 200], 'waits double up to the cap; five crashes in a few seconds, still restarted')
  t.equal(await tool('add').run({ a: 1, b: 1 }, { signal }), '2')
})

t.test('health says when a down server is tried next; a server that stayed up starts over at the first wait', async (t) => {
  const { mcp, logger, tool, crash } = await startOne(t, 'slow', { firstDelayMs: 2_500, maxDelayMs: 60_000, stableAfterMs: 300 })
  // Up for longer than stableAfterMs before each crash: the wait does not grow.
  await new Promise((resolve) => setTimeout(resolve, 400))
  await t.rejects(crash.run({}, { signal }), { message: 'MCP server slow exited' })
  t.match(mcp.health()[0], { healthy: false, restarts: 0, error: /^exited; restarting in [23] s \(stderr: .*crashing on purpose\)$/ })
  await t.rejects(tool('add').run({ a: 1, b: 1 }, { signal }), {
    message: 'MCP server slow is unavailable: exited (restarting)',
  })
  await until('restarted', () => mcp.health()[0]?.healthy === true)
  await new Promise((resolve) => setTimeout(resolve, 400))
  await t.rejects(crash.run({}, { signal }), { message: 'MCP server slow exited' })
  const waits = logger.lines.filter((l) => l.msg === 'MCP server slow exited').map((l) => l.obj.retryInMs)
  t.same(waits, [2_500, 2_500], 'the second crash came after a stable run: the first wait again')
})

t.test('a server that fails at start is retried, and its tools join once it is up', async (t) => {
  const readyFile = join(dir, 'late.ready')
  const config = loadToolsConfig(
    writeConfig({ mcpServers: { late: { ...stdioServer, env: { MCP_TEST_READY_FILE: readyFile } } } }),
  )
  const logger = collectingLogger()
  const mcp = await McpServers.start(config, { logger, restart: { firstDelayMs: 100, maxDelayMs: 300, stableAfterMs: 60_000 } })
  t.teardown(() => mcp.close())
  t.same(mcp.tools(), [], 'no tools while it cannot start')
  t.match(mcp.health(), [{ server: 'late', healthy: false, tools: 0, error: /^failed to start: .*; restarting (in 1 s|now)/ }])
  await until('tried a few times', () => (mcp.health()[0]?.restarts ?? 0) >= 2)
  t.match(mcp.health()[0]?.error, /not ready: .*late\.ready is missing/, 'its stderr says why')
  writeFileSync(readyFile, '')
  await until('late is up', () => mcp.health()[0]?.healthy === true)
  t.match(mcp.health(), [{ server: 'late', healthy: true, tools: 8 }])
  t.equal(await mcp.tools().find((tool) => tool.name === 'late__add')?.run({ a: 2, b: 3 }, { signal }), '5', 'its tools work')
  t.ok(logger.lines.some((l) => l.msg === 'MCP server late connected'), 'logged')
})

t.test('a server\'s secrets never reach the model, the caller or a log line', async (t) => {
  const secret = 'tok-5ecr3t-9f8e7d6c5b4a3210'
  const config = loadToolsConfig(
    writeConfig({ mcpServers: { vault: { ...stdioServer, env: { MCP_TEST_TOKEN: '${MCP_TEST_SECRET}' } } } }),
    { MCP_TEST_SECRET: secret },
  )
  t.same(config.secrets, [secret])
  const logger = collectingLogger()
  const mcp = await McpServers.start(config, { logger })
  t.teardown(() => mcp.close())
  const run = (name: string) => mcp.tools().find((tool) => tool.name === name)!.run({}, { signal })
  const needles = [secret, secret.slice(0, 12), secret.slice(-4)]
  const leaks = (text: string) => needles.filter((needle) => text.includes(needle))

  const failed = await run('vault__token_error').then(() => '', (error: Error) => error.message)
  t.equal(failed, 'upstream refused token [redacted] (ends [redacted])', 'a tool error: the token and its masked tail redacted')
  const thrown = await run('vault__token_throw').then(() => '', (error: Error) => error.message)
  t.match(thrown, /^bad token \[redacted\]$/, 'an exception in the tool')
  t.equal(await run('vault__token_echo'), 'my token is [redacted]; first part [redacted]', 'a result: whole and cut short')
  await until('the stderr line is logged', () => logger.lines.some((l) => l.obj.stderr !== undefined && String(l.obj.stderr).startsWith('starting with token')))
  t.same(logger.lines.filter((l) => leaks(JSON.stringify(l)).length > 0), [], 'no log line holds it')
  t.ok(logger.lines.some((l) => l.obj.stderr === 'starting with token [redacted]'), 'the stderr line is logged, scrubbed')
})

t.test('stdio servers get the gateway\'s proxy and CA variables, unless their env says otherwise', async (t) => {
  const passed = { HTTPS_PROXY: 'http://proxy.test:3128', no_proxy: 'localhost,127.0.0.1', NODE_EXTRA_CA_CERTS: '/etc/ssl/private-ca.pem', SSL_CERT_DIR: '/etc/ssl/certs' }
  const saved = Object.fromEntries(Object.keys({ ...passed, HTTP_PROXY: '' }).map((name) => [name, process.env[name]]))
  Object.assign(process.env, passed, { HTTP_PROXY: 'http://from-the-gateway:1' })
  t.teardown(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
  const config = loadToolsConfig(
    writeConfig({ mcpServers: { net: { ...stdioServer, env: { HTTP_PROXY: 'http://own-proxy:8080' } } } }),
  )
  const mcp = await McpServers.start(config, { logger: collectingLogger() })
  t.teardown(() => mcp.close())
  const env = JSON.parse(await mcp.tools().find((tool) => tool.name === 'net__network_env')!.run({}, { signal })) as Record<string, string>
  t.match(env, { ...passed, HTTP_PROXY: 'http://own-proxy:8080' })
})

t.test('tool names that collide or are too long stop start-up', async (t) => {
  const http = await startHttpMcpServer()
  t.teardown(() => http.close())
  const longServer = 'p'.repeat(20)
  const path = writeConfig({
    mcpServers: {
      [longServer]: { url: `${http.origin}/paged/mcp`, startTimeoutMs: 60_000 },
      clash: { url: `${http.origin}/paged/mcp?collide=1`, startTimeoutMs: 60_000 },
      stdio: { ...stdioServer },
    },
  })
  const logger = collectingLogger()
  const error = await McpServers.start(loadToolsConfig(path), { logger }).then(
    () => undefined,
    (error: unknown) => error,
  )
  t.type(error, ConfigError)
  const text = (error as Error).message
  t.match(text, `GATEWAY_TOOLS_CONFIG (${path})`)
  t.match(text, `tool "a_tool_name_that_is_long_enough_to_overflow" of MCP server "${longServer}" would be named "${longServer}__a_tool_name_that_is_long_enough_to_overflow", 65 characters; tool names are at most 64`)
  t.match(text, 'tool "dotted_name/v2" of MCP server "clash" and tool "dotted.name/v2" of MCP server "clash" would both be named "clash__dotted_name_v2"')
  const pid = logger.lines.find((l) => l.msg === 'MCP server stdio connected')?.obj.pid
  t.type(pid, 'number', 'the stdio server had started')
  t.notOk(alive(pid as number), 'and was closed')
})

t.test('a server that never answers at start is reported, and its process killed', async (t) => {
  const pidFile = join(dir, 'silent.pid')
  const script = `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`
  // Long enough for a busy machine to start Node and write the pid; no retry before the checks.
  const config = loadToolsConfig(writeConfig({ mcpServers: { silent: { command: process.execPath, args: ['-e', script], startTimeoutMs: 5_000 } } }))
  const started = Date.now()
  const mcp = await McpServers.start(config, { logger: collectingLogger(), restart: { firstDelayMs: 60_000, maxDelayMs: 60_000, stableAfterMs: 60_000 } })
  t.teardown(() => mcp.close())
  t.ok(Date.now() - started < 7_000, 'start is not held up past the deadline')
  t.same(mcp.tools(), [])
  t.match(mcp.health(), [{ server: 'silent', healthy: false, tools: 0, restarts: 0, error: /^failed to start: .*timed out.*; restarting in 60 s$/ }])
  const pid = Number(readFileSync(pidFile, 'utf8'))
  await until('the silent process is gone', () => !alive(pid), 2_000)
  t.pass('killed')
})
