// deploy/haproxy/haproxy.cfg, the compose stack's balancer, in Debian's haproxy: `haproxy -c`
// accepts it (with no warning once the replicas' name resolves), and, run for real in front of two
// gateway processes with only its listen address and server addresses replaced, it spreads requests
// over both, streams SSE as it comes, passes traceparent in and the trace headers out, and moves
// to the other replica when one stops. Each replica's trace lookups find only what it served,
// and each replica's metrics carry its own service.instance.id (the `instance` label).
import { spawn } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startGateway, type GatewayProcess } from '../support/gateway.ts'
import { paths, readYaml, run, which } from './helpers.ts'

/** Debian installs it in /usr/sbin, which a non-root PATH may lack. */
const haproxy = which('haproxy') ?? ['/usr/sbin/haproxy', '/sbin/haproxy'].find((path) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
})
const skip = haproxy ? false : 'haproxy is not installed: apt-get install -y --no-install-recommends haproxy (Debian\'s package; .ci/run installs it, so CI skips nothing)'

const shipped = readFileSync(paths.balancer, 'utf8')
const TEMPLATE = /^(\s*)server-template \S+ \d+ gateway:8080$/m
const BIND = /^(\s*)bind :8080$/m

/** The shipped config with its listen address and its servers replaced; everything else as shipped. */
function localConfig(port: number, servers: string[]): string {
  if (!TEMPLATE.test(shipped) || !BIND.test(shipped)) throw new Error('haproxy.cfg no longer has the bind and server-template lines this test replaces')
  return shipped
    .replace(BIND, `$1bind 127.0.0.1:${port}`)
    .replace(TEMPLATE, (_, indent: string) => servers.map((address, i) => `${indent}server gateway${i + 1} ${address}`).join('\n'))
}

function tempFile(t: Tap, name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, name), text)
  return join(dir, name)
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

t.test('haproxy -c: the shipped config is valid, with no warning, also with `gateway` resolving', { skip }, async (t) => {
  // -dW turns any warning into a failure. Here `gateway` resolves to nothing (in compose, Docker's
  // DNS answers it; the servers wait for it: init-addr none); then with the name mapped to loopback.
  const result = run(haproxy!, ['-c', '-dW', '-f', paths.balancer])
  t.equal(result.status, 0, result.output)
  t.match(result.output, /Configuration file is valid/)
  const mapped = tempFile(t, 'haproxy.cfg', shipped.replace(TEMPLATE, '$1server-template gateway 8 127.0.0.1:8080'))
  const strict = run(haproxy!, ['-c', '-dW', '-f', mapped])
  t.equal(strict.status, 0, strict.output)
  t.notMatch(strict.output, /WARNING|ALERT/)

  const broken = tempFile(t, 'broken.cfg', shipped.replace('timeout server 10m', 'timeout server ten minutes'))
  const refused = run(haproxy!, ['-c', '-f', broken])
  t.not(refused.status, 0, 'a broken config is refused: the check can fail')
})

t.test('in front of two gateways: spread, streamed, traced, and failing over', { skip }, async (t) => {
  const compose = readYaml(paths.compose) as { services: { gateway: { environment: Record<string, string> } } }
  const traceUiUrl = compose.services.gateway.environment.TRACE_UI_URL!
  // demo-chat streams one token every 40 ms, so an unbuffered stream arrives over time.
  const env = { TRACE_UI_URL: traceUiUrl, DEMO_TOKEN_DELAY_MS: '40' }
  const replicas: GatewayProcess[] = await Promise.all([startGateway({ env }), startGateway({ env })])
  t.teardown(() => Promise.all(replicas.map((r) => r.stop())))
  const port = await freePort()
  const config = tempFile(t, 'haproxy.cfg', localConfig(port, replicas.map((r) => new URL(r.url).host)))
  const balancer = spawn(haproxy!, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  balancer.stdout.on('data', (chunk) => (output += chunk))
  balancer.stderr.on('data', (chunk) => (output += chunk))
  t.teardown(() => {
    balancer.kill('SIGKILL')
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false)
    if (ok) break
    if (i > 100 || balancer.exitCode !== null) throw new Error(`haproxy did not start:\n${output}`)
    await sleep(100)
  }

  const chat = (headers: Record<string, string> = {}, stream = false) =>
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'demo-chat', stream, messages: [{ role: 'user', content: 'Hello there' }] }),
    })

  /** Which replica holds a trace: its /v1/traces/{id} answers 200, the other's 404. */
  async function servedBy(traceId: string): Promise<number[]> {
    for (let i = 0; i < 50; i++) {
      const statuses = await Promise.all(replicas.map((r) => fetch(`${r.url}/v1/traces/${traceId}`).then((res) => res.status)))
      if (statuses.includes(200)) return statuses
      await sleep(100)
    }
    return []
  }

  t.test('requests are spread over both replicas; a trace is found only on the replica that served it', async (t) => {
    const traceIds: string[] = []
    for (let i = 0; i < 8; i++) {
      const response = await chat()
      t.equal(response.status, 200)
      await response.json()
      traceIds.push(response.headers.get('x-trace-id') ?? '')
    }
    const served = [0, 0]
    for (const traceId of traceIds) {
      const statuses = await servedBy(traceId)
      t.same(statuses.slice().sort(), [200, 404], `trace ${traceId}: on one replica, 404 on the other`)
      served[statuses.indexOf(200)]!++
    }
    t.ok(served[0]! > 0 && served[1]! > 0, `both replicas served (${served.join(' and ')} of 8)`)
  })

  t.test('traceparent passes in, x-trace-id and Link rel="trace" come out', async (t) => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const response = await chat({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` })
    t.equal(response.status, 200)
    await response.json()
    t.equal(response.headers.get('x-trace-id'), traceId, 'the caller\'s trace, joined by the replica behind the balancer')
    t.equal(response.headers.get('link'), `<${traceUiUrl.replace('{trace_id}', traceId)}>; rel="trace"`)
  })

  t.test('a stream arrives chunk by chunk, not buffered until its end', async (t) => {
    const response = await chat({}, true)
    t.equal(response.status, 200)
    t.match(response.headers.get('content-type'), /^text\/event-stream/)
    const arrivals: Array<{ at: number; text: string }> = []
    const decoder = new TextDecoder()
    for await (const chunk of response.body!) arrivals.push({ at: performance.now(), text: decoder.decode(chunk, { stream: true }) })
    const body = arrivals.map((a) => a.text).join('')
    t.match(body, /data: \[DONE\]/, 'the whole stream, to its end')
    const tokens = (body.match(/"delta":\{"content":/g) ?? []).length
    t.ok(tokens >= 3, `${tokens} content chunks`)
    // Buffered, every chunk would arrive at once; streamed, they span the tokens' spacing.
    const spread = arrivals.at(-1)!.at - arrivals[0]!.at
    t.ok(arrivals.length >= 3, `${arrivals.length} separate reads`)
    t.ok(spread >= (tokens - 1) * 40 * 0.5, `arrived over ${Math.round(spread)} ms (${tokens} tokens, 40 ms apart)`)
  })

  t.test('each replica\'s metrics carry its own service.instance.id', async (t) => {
    const ids = await Promise.all(
      replicas.map(async (r) => /target_info\{[^}]*service_instance_id="([^"]+)"/.exec(await (await fetch(`${r.url}/metrics`)).text())?.[1]),
    )
    t.ok(ids[0] && ids[1], `both replicas name their instance (${ids.join(', ')})`)
    t.not(ids[0], ids[1], 'and the names differ, so sums over `instance` add both')
  })

  t.test('a replica stops: every request goes to the other, none fails', async (t) => {
    await replicas[1]!.stop()
    for (let i = 0; i < 6; i++) {
      const response = await chat()
      t.equal(response.status, 200, `request ${i + 1} answered`)
      const traceId = response.headers.get('x-trace-id') ?? ''
      await response.json()
      const found = await fetch(`${replicas[0]!.url}/v1/traces/${traceId}`)
      t.equal(found.status, 200, 'by the replica still running')
    }
  })
})
