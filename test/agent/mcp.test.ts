// MCP tools: the tools config file, discovery over stdio and Streamable HTTP, results and
// errors as the model sees them, timeouts, crashes and restarts, and a clean close.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { McpServers, type McpLogger } from '../../src/agent/mcp.ts'
import { loadToolsConfig, type ToolsConfig } from '../../src/agent/tools-config.ts'
import { ToolError, type AgentTool } from '../../src/agent/tools/types.ts'
import { ConfigError } from '../../src/config.ts'
import { createLogger } from '../../src/log.ts'
import { startHttpMcpServer, type HttpMcpServer } from './fixtures/mcp-http-server.ts'

// The top-level tests are independent (each its own servers): run them side by side.
t.jobs = 4

const stdioScript = join(import.meta.dirname, 'fixtures', 'mcp-stdio-server.ts')
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

async function until(what: string, check: () => boolean, ms = 8_000): Promise<void> {
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
        stdio: { command: process.execPath, args: [stdioScript], env: { GREETING: '${MCP_TEST_GREETING}' }, cwd: 'work', timeoutMs: 300 },
        http: { url: http.url, headers: { 'x-test': 'yes' } },
        paged: { type: 'streamable-http', url: `${http.origin}/paged/mcp` },
        broken: { command: join(dir, 'no-such-server') },
      },
    }),
    { MCP_TEST_GREETING: 'hello from the gateway' },
  )
  const logger = collectingLogger()
  const started = Date.now()
  // Quicker restarts than the default (100 ms, 1 s, 5 s) to keep the test short.
  const mcp = await McpServers.start(config, { logger, restart: { maxPerMinute: 5, backoffMs: [100, 200] } })
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
        'stdio__add', 'stdio__fail', 'stdio__hang', 'stdio__crash', 'stdio__echo', 'stdio__picture', 'stdio__whoami',
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
    t.match(health.get('stdio'), { server: 'stdio', transport: 'stdio', healthy: true, tools: 7, restarts: 0, pid: Number })
    t.same(health.get('http'), { server: 'http', transport: 'http', healthy: true, tools: 2, restarts: 0 })
    t.same(health.get('paged'), { server: 'paged', transport: 'http', healthy: true, tools: 4, restarts: 0 })
    t.match(health.get('broken'), { server: 'broken', transport: 'stdio', healthy: false, tools: 0, restarts: 0, error: /failed to start: .*ENOENT/ })
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
    t.equal(whoami.greeting, 'hello from the gateway', '${VAR} in env')
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
    await t.rejects(run('stdio__hang'), { name: 'ToolError', message: 'MCP tool stdio__hang timed out after 300 ms' })
    const elapsed = Date.now() - start
    t.ok(elapsed >= 280 && elapsed < 2_000, `cut at the timeout (${elapsed} ms)`)
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
    t.match(mcp.health().find((h) => h.server === 'stdio'), { healthy: false, error: /^exited \(stderr: .*crashing on purpose\)$/ })
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
    for (const result of results) t.match(result, { status: 'rejected', reason: { name: 'ToolError', message: /timed out after 300 ms/ } })
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

  t.test('broken server tools are simply absent', async (t) => {
    t.notOk([...tools.keys()].some((name) => name.startsWith('broken__')))
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

t.test('restart budget: past it the server stays down and says why', async (t) => {
  const config: ToolsConfig = loadToolsConfig(writeConfig({ mcpServers: { fragile: { command: process.execPath, args: [stdioScript] } } }))
  const mcp = await McpServers.start(config, { logger: collectingLogger(), restart: { maxPerMinute: 1, backoffMs: [10] } })
  t.teardown(() => mcp.close())
  const crash = mcp.tools().find((tool) => tool.name === 'fragile__crash')
  if (crash === undefined) throw new Error('no crash tool')
  await t.rejects(crash.run({}, { signal }), { message: 'MCP server fragile exited' })
  await until('restarted', () => mcp.health()[0]?.healthy === true)
  await t.rejects(crash.run({}, { signal }), { message: 'MCP server fragile exited' })
  t.match(mcp.health()[0], { healthy: false, restarts: 1, error: /^exited; not restarted again: 1 restart in the last minute already \(stderr: .*crashing on purpose\)$/ })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.match(mcp.health()[0], { healthy: false, restarts: 1 }, 'no further restart')
  await t.rejects(crash.run({}, { signal }), {
    message: 'MCP server fragile is unavailable: exited; not restarted again: 1 restart in the last minute already',
  })
})

t.test('tool names that collide or are too long stop start-up', async (t) => {
  const http = await startHttpMcpServer()
  t.teardown(() => http.close())
  const longServer = 'p'.repeat(20)
  const path = writeConfig({
    mcpServers: {
      [longServer]: { url: `${http.origin}/paged/mcp` },
      clash: { url: `${http.origin}/paged/mcp?collide=1` },
      stdio: { command: process.execPath, args: [stdioScript] },
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
  const config = loadToolsConfig(writeConfig({ mcpServers: { silent: { command: process.execPath, args: ['-e', script], startTimeoutMs: 1_500 } } }))
  const started = Date.now()
  const mcp = await McpServers.start(config, { logger: collectingLogger() })
  t.teardown(() => mcp.close())
  t.ok(Date.now() - started < 3_500, 'start is not held up past the deadline')
  t.same(mcp.tools(), [])
  t.match(mcp.health(), [{ server: 'silent', healthy: false, tools: 0, restarts: 0, error: /^failed to start: .*timed out/ }])
  const pid = Number(readFileSync(pidFile, 'utf8'))
  await until('the silent process is gone', () => !alive(pid), 2_000)
  t.pass('killed')
})
