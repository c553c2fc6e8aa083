// docker-compose.yml: accepted by Debian's docker-compose (1.29, `config` validates against the
// Compose Specification schema it ships), every image pinned, every mounted file present and
// where the configs inside the containers expect it, health checks and start-up order, the ports
// the guide uses, two gateway replicas behind the balancer. No Docker engine runs here: `up`
// itself is never run (the balancer's config runs in Debian's haproxy: balancer.test.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { REDIS_MISSING, REDIS_SERVER, startRedis } from '../support/redis.ts'
import { missing, paths, readYaml, root, run, which } from './helpers.ts'

interface Service {
  image?: string
  build?: string | { context: string; dockerfile?: string }
  command?: string[] | string
  environment?: Record<string, string | null>
  ports?: Array<string | { published: number | string; target: number }>
  volumes?: Array<string | { type: string; source: string; target: string; read_only?: boolean }>
  healthcheck?: { test: string[] | string; interval?: string; timeout?: string; retries?: number; start_period?: string }
  depends_on?: Record<string, { condition: string }> | string[]
  init?: boolean
  env_file?: unknown
  stop_grace_period?: string
  deploy?: { replicas?: number }
}

interface ComposeFile {
  services: Record<string, Service>
  [key: string]: unknown
}

const compose = readYaml(paths.compose) as ComposeFile
const services = compose.services
const dockerCompose = which('docker-compose')

/** A bind mount `./a:/b:ro` → {source: absolute path, target}; named volumes (`data:/data`) are not files. */
function mounts(service: Service): Array<{ source: string; target: string; readOnly: boolean }> {
  return (service.volumes ?? []).flatMap((v) => {
    if (typeof v !== 'string') return v.type === 'bind' ? [{ source: v.source, target: v.target, readOnly: !!v.read_only }] : []
    const [source, target, mode] = v.split(':')
    return source!.startsWith('./') ? [{ source: join(root, source!), target: target!, readOnly: mode === 'ro' }] : []
  })
}

/** Named volumes `name:/path` of a service. */
function namedVolumes(service: Service): Array<{ name: string; target: string }> {
  return (service.volumes ?? []).flatMap((v) => {
    if (typeof v !== 'string') return v.type === 'volume' ? [{ name: v.source, target: v.target }] : []
    const [source, target] = v.split(':')
    return source!.startsWith('./') || source!.startsWith('/') ? [] : [{ name: source!, target: target! }]
  })
}

function publishedPorts(service: Service): number[] {
  return (service.ports ?? []).map((p) => Number(typeof p === 'string' ? p.split(':')[0] : p.published))
}

t.test('docker-compose config (Debian\'s docker-compose) accepts the file', { skip: dockerCompose ? false : missing('docker-compose') }, async (t) => {
  // A clean environment: no keys from the developer's shell; every variable has a default.
  const result = run(dockerCompose!, ['-f', paths.compose, 'config'])
  t.equal(result.status, 0, result.output)
  t.notMatch(result.stderr, /WARN|variable is not set/i, 'no unset-variable warnings')
  const normalized = parse(result.stdout) as ComposeFile
  t.same(Object.keys(normalized.services).sort(), ['balancer', 'gateway', 'grafana', 'jaeger', 'otel-collector', 'prometheus', 'redis', 'redis-cache'])
  t.equal(normalized.services.gateway?.environment?.GATEWAY_API_KEYS, 'sk-gateway-demo', 'the documented demo key by default')
  t.equal(normalized.services.gateway?.deploy?.replicas, 2, 'two gateway replicas, as docker-compose reads them')
  t.same(Object.keys(normalized.volumes as object), ['redis-data'], 'the one named volume, declared')
  // Every bind-mounted path, as docker-compose resolved it, exists.
  for (const [name, service] of Object.entries(normalized.services)) {
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source
      if (!source.startsWith('/')) continue // a named volume
      t.ok(existsSync(source), `${name}: ${source} exists`)
    }
  }
  // With `cp .env.example .env` (the README's step for real keys): .env.example's empty key list
  // still means the demo key, and its localhost OTLP endpoint does not leak into the container.
  const withEnv = run(dockerCompose!, ['--env-file', join(root, '.env.example'), '-f', paths.compose, 'config'])
  t.equal(withEnv.status, 0, withEnv.output)
  const gatewayEnv = (parse(withEnv.stdout) as ComposeFile).services.gateway?.environment ?? {}
  t.equal(gatewayEnv.GATEWAY_API_KEYS, 'sk-gateway-demo', 'with .env.example: the demo key')
  t.equal(gatewayEnv.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318', 'with .env.example: OTLP to the collector')
  t.equal(gatewayEnv.OPENAI_BASE_URL, 'https://api.openai.com/v1', 'with .env.example: its provider URLs pass through')

  // The same file with a construct 1.29 does not know is refused: this check can fail.
  const dir = mkdtempSync(join(tmpdir(), 'compose-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'docker-compose.yml'), `name: sik-llms-gateway\n${readFileSync(paths.compose, 'utf8')}`)
  const withName = run(dockerCompose!, ['-f', join(dir, 'docker-compose.yml'), 'config'])
  t.not(withName.status, 0, 'a top-level `name:` is refused by 1.29')
  t.match(withName.output, /'name' does not match/)
})

t.test('portable to Docker Compose v2 and v1: no version, no top-level name, no env_file long form', async (t) => {
  t.same(Object.keys(compose), ['services', 'volumes'], 'only `services` and `volumes` at the top (no `version:`, obsolete in v2; no `name:`, refused by 1.29)')
  for (const [name, service] of Object.entries(services)) t.notOk('env_file' in service, `${name}: no env_file`)
})

t.test('every image is pinned to a release', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    if (service.build) {
      t.notOk(service.image, `${name} is built from the repository (its base image is pinned in the Dockerfile)`)
      continue
    }
    t.match(service.image, /^[a-z0-9./-]+:v?\d+\.\d+\.\d+(-alpine)?$/, `${name}: ${service.image} has a version tag`)
    t.notMatch(service.image, /:latest$/, `${name}: not latest`)
  }
  t.match(services['otel-collector']?.image, /^otel\/opentelemetry-collector-contrib:/, 'the contrib Collector')
  t.match(services.jaeger?.image, /^jaegertracing\/jaeger:2\./, 'Jaeger v2 (not jaegertracing/all-in-one, v1, end of life)')
  t.match(services.prometheus?.image, /^prom\/prometheus:v\d/)
  t.match(services.grafana?.image, /^grafana\/grafana:\d/)
  t.match(services.redis?.image, /^redis:\d+\.\d+\.\d+-alpine$/, 'the official Redis image, a release')
  t.equal(services.balancer?.image, 'haproxy:3.2.24-alpine', 'the official HAProxy image, of the 3.2 long-term-support branch')
  const dockerfile = services.gateway?.build
  t.equal(typeof dockerfile === 'string' ? dockerfile : dockerfile?.context, '.', 'the gateway is built from ./Dockerfile')
})

t.test('every mounted file exists, read-only, where the program inside looks for it', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    for (const mount of mounts(service)) {
      t.ok(existsSync(mount.source), `${name}: ${mount.source} exists`)
      t.ok(mount.readOnly, `${name}: ${mount.target} is mounted read-only`)
    }
  }
  const target = (service: string, source: string) => mounts(services[service]!).find((m) => m.source === join(root, source))?.target

  const collectorConfig = target('otel-collector', 'otel-collector.yml')
  t.same(services['otel-collector']?.command, [`--config=${collectorConfig}`], 'the collector runs the mounted config')

  t.equal(target('prometheus', 'prometheus.yml'), '/etc/prometheus/prometheus.yml')
  t.ok((services.prometheus?.command as string[]).includes('--config.file=/etc/prometheus/prometheus.yml'))
  const ruleDir = target('prometheus', 'deploy/prometheus/rules')
  const ruleFiles = (readYaml(paths.prometheus).rule_files as string[]).map((f) => join('/etc/prometheus', f))
  t.same(ruleFiles, [`${ruleDir}/*.yml`], 'prometheus.yml\'s rule_files glob (relative to the config) finds the mounted rules')
  t.ok(statSync(paths.rules).isFile() && paths.rules.startsWith(join(root, 'deploy/prometheus/rules/')), 'and the rules file is in that directory')

  t.equal(target('grafana', 'deploy/grafana/provisioning/datasources'), '/etc/grafana/provisioning/datasources')
  t.equal(target('grafana', 'deploy/grafana/provisioning/dashboards'), '/etc/grafana/provisioning/dashboards')
  const dashboards = target('grafana', 'deploy/grafana/dashboards')
  const provider = readYaml(paths.dashboardsProvider) as { providers: Array<{ type: string; options: { path: string } }> }
  t.same(provider.providers.map((p) => p.options.path), [dashboards], 'the dashboard provider reads the mounted dashboards')
  const home = services.grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH
  t.equal(home, `${dashboards}/llm-gateway.json`, 'the LLM dashboard is Grafana\'s home page')
  t.ok(existsSync(paths.dashboard))
})

t.test('the ports the guide uses, plus the gateway\'s', async (t) => {
  t.same(publishedPorts(services.jaeger!), [16686], 'Jaeger UI')
  t.same(publishedPorts(services['otel-collector']!).sort(), [4317, 4318], 'OTLP gRPC and HTTP, on the collector')
  t.same(publishedPorts(services.prometheus!), [9090])
  t.same(publishedPorts(services.grafana!), [3000])
  t.same(publishedPorts(services.balancer!), [8080], 'the gateway\'s usual port, on the balancer')
  t.same(publishedPorts(services.gateway!), [], 'the replicas are reached through the balancer only (and could not all publish one port)')
  t.same(publishedPorts(services.redis!), [], 'Redis (no password) is not published on the host: only the gateway reaches it')
  t.same(publishedPorts(services['redis-cache']!), [], 'nor is the cache\'s Redis')
  const all = Object.values(services).flatMap(publishedPorts)
  t.equal(new Set(all).size, all.length, 'no host port published twice')
})

t.test('health checks and depends_on conditions order the start-up', async (t) => {
  for (const name of ['gateway', 'balancer', 'jaeger', 'prometheus', 'grafana', 'redis', 'redis-cache']) {
    const check = services[name]?.healthcheck
    t.ok(Array.isArray(check?.test) && check.test[0] === 'CMD', `${name}: an exec-form health check (no shell needed)`)
    t.ok(check?.interval && check.timeout && check.retries && check.start_period, `${name}: interval, timeout, retries, start_period`)
  }
  t.match((services.gateway?.healthcheck?.test as string[]).join(' '), /127\.0\.0\.1:8080\/health/, 'the gateway is checked on /health')
  t.notOk(services['otel-collector']?.healthcheck, 'the collector image is FROM scratch: nothing could run a check inside it')

  const deps = (name: string) => services[name]?.depends_on as Record<string, { condition: string }>
  t.same(deps('gateway'), { 'otel-collector': { condition: 'service_started' }, redis: { condition: 'service_healthy' }, 'redis-cache': { condition: 'service_healthy' } })
  t.same(services.redis?.healthcheck?.test, ['CMD', 'redis-cli', 'ping'], 'redis: healthy once it answers PING')
  t.same(deps('balancer'), { gateway: { condition: 'service_healthy' } }, 'the balancer opens once the replicas answer /health')
  t.match((services.balancer?.healthcheck?.test as string[]).join(' '), /^CMD wget .*http:\/\/127\.0\.0\.1:8080\/health$/, 'the balancer is checked through to a replica\'s /health')
  t.same(deps('otel-collector'), { jaeger: { condition: 'service_healthy' } })
  t.same(deps('prometheus'), { 'otel-collector': { condition: 'service_started' } })
  t.same(deps('grafana'), { prometheus: { condition: 'service_healthy' }, jaeger: { condition: 'service_healthy' } })
  for (const [name, service] of Object.entries(services)) {
    for (const [dependency, { condition }] of Object.entries((service.depends_on ?? {}) as Record<string, { condition: string }>)) {
      t.ok(services[dependency], `${name} depends on ${dependency}, which exists`)
      if (condition === 'service_healthy') t.ok(services[dependency]?.healthcheck, `${name} waits for ${dependency} to be healthy: it has a health check`)
    }
  }
})

t.test('the gateway: beyond loopback with a key, OTLP to the collector, SIGTERM reaches node', async (t) => {
  const gateway = services.gateway!
  const env = gateway.environment ?? {}
  t.equal(env.HOST, '0.0.0.0')
  t.equal(env.GATEWAY_API_KEYS, '${GATEWAY_API_KEYS:-sk-gateway-demo}', 'a documented demo key unless GATEWAY_API_KEYS is set')
  t.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318')
  t.equal(env.OTEL_SERVICE_NAME, 'sik-llms-gateway')
  t.equal(env.TRACE_UI_URL, `http://localhost:${publishedPorts(services.jaeger!)[0]}/trace/{trace_id}`, 'answers link to their trace in the published Jaeger UI')
  for (const [key, value] of Object.entries(env)) {
    if (typeof value === 'string' && value.includes('${')) t.match(value, /^\$\{[A-Z_]+:-[^}]*\}$/, `${key}: interpolated with a default`)
  }
  t.equal(gateway.init, true, 'tini as PID 1 forwards signals and reaps MCP stdio servers')
  const grace = Number(/^(\d+)s$/.exec(gateway.stop_grace_period ?? '')?.[1])
  t.ok(grace > 10, `stop_grace_period ${gateway.stop_grace_period} exceeds the gateway's 10 s drain (SHUTDOWN_TIMEOUT_MS)`)
  t.match(readFileSync(paths.dockerfile, 'utf8'), /^CMD \["node", ("--[a-z-]+=\d+", )*"src\/main\.ts"\]$/m, 'the image runs node directly')
})

t.test('Redis: the replicas\' shared store, kept across restarts and never evicted; the cache in a Redis of its own', async (t) => {
  t.equal(services.gateway?.environment?.REDIS_URL, 'redis://redis:6379', 'the gateway\'s REDIS_URL names the service, on Redis\' port')
  const command = services.redis?.command as string[]
  t.equal(command[0], 'redis-server', 'the image\'s server, with arguments')
  // The official image's working directory, where the append-only file is written.
  t.same(namedVolumes(services.redis!), [{ name: 'redis-data', target: '/data' }], 'the append-only file on a named volume')
  t.same(Object.keys((compose.volumes ?? {}) as object), ['redis-data'], 'declared at the top level')

  t.test('its arguments, given to Debian\'s redis-server', { skip: REDIS_SERVER ? false : REDIS_MISSING }, async (t) => {
    const redis = await startRedis({ args: command.slice(1) })
    t.teardown(() => redis.close())
    t.equal(await redis.config('save'), '', 'no RDB snapshots')
    t.equal(await redis.config('appendonly'), 'yes', 'named keys and spend survive a restart: AOF')
    t.equal(await redis.config('appendfsync'), 'everysec', 'at most a second of writes lost on a crash')
    t.equal(await redis.config('maxmemory'), String(256 * 1024 * 1024), 'bounded at 256 MiB')
    t.equal(await redis.config('maxmemory-policy'), 'noeviction', 'never evicted: an evicted spend counter would reset a budget, an evicted key revoke it')
  })

  t.equal(services.gateway?.environment?.REDIS_CACHE_URL, 'redis://redis-cache:6379', 'the response cache in a Redis of its own')
  t.equal(services['redis-cache']?.image, services.redis?.image, 'the same pinned image')
  const cacheCommand = services['redis-cache']?.command as string[]
  t.test('the cache Redis\'s arguments, given to Debian\'s redis-server', { skip: REDIS_SERVER ? false : REDIS_MISSING }, async (t) => {
    const redis = await startRedis({ args: cacheCommand.slice(1) })
    t.teardown(() => redis.close())
    t.equal(await redis.config('save'), '', 'no snapshots')
    t.equal(await redis.config('appendonly'), 'no', 'memory only')
    t.equal(await redis.config('maxmemory'), String(256 * 1024 * 1024), 'bounded at 256 MiB')
    t.equal(await redis.config('maxmemory-policy'), 'allkeys-lru', 'full: the least recently used answers go')
  })
})

t.test('named keys, the admin API and the limits setting reach the replicas', async (t) => {
  const env = services.gateway?.environment ?? {}
  t.equal(env.GATEWAY_KEYS_FILE, '${GATEWAY_KEYS_FILE:-}', 'GATEWAY_KEYS_FILE from .env, off by default')
  t.equal(env.GATEWAY_MASTER_KEY, '${GATEWAY_MASTER_KEY:-}', 'GATEWAY_MASTER_KEY from .env, off by default')
  t.equal(env.GATEWAY_CONFIG, '${GATEWAY_CONFIG:-}', 'GATEWAY_CONFIG from .env, off by default')
  t.equal(env.GATEWAY_LIMITS_ON_REDIS_ERROR, '${GATEWAY_LIMITS_ON_REDIS_ERROR:-serve}')
  t.same(mounts(services.gateway!).map((m) => [m.target, m.readOnly]), [['/etc/sik-llms-gateway', true]], 'deploy/gateway mounted read-only where those files are named')
})

t.test('scaling out: two stateless gateway replicas behind the balancer', async (t) => {
  const gateway = services.gateway!
  t.equal(gateway.deploy?.replicas, 2, 'two replicas')
  t.notOk('container_name' in gateway, 'no container_name (it would forbid a second replica)')
  t.same(mounts(gateway).map((m) => m.target), ['/etc/sik-llms-gateway'], 'only its read-only configuration mounted: a replica keeps no state of its own')
  t.equal(gateway.environment?.REDIS_URL, 'redis://redis:6379', 'what they share is in Redis')
  t.equal(gateway.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318', 'each replica sends its traces and metrics to the Collector')
  t.notMatch(gateway.environment?.OTEL_RESOURCE_ATTRIBUTES ?? '', /service\.instance\.id/, 'no shared service.instance.id: each replica\'s series keep their own `instance` label')

  const balancer = services.balancer!
  t.same(mounts(balancer).map((m) => m.target), ['/usr/local/etc/haproxy/haproxy.cfg'], 'the config where the image\'s CMD reads it')
  t.equal(mounts(balancer)[0]?.source, paths.balancer)
  const config = readFileSync(paths.balancer, 'utf8')
  const port = gateway.environment?.PORT
  t.match(config, new RegExp(`^\\s*bind :${port}$`, 'm'), 'the balancer listens on the gateway\'s port inside its container')
  t.same(balancer.ports, [`${port}:${port}`], 'and publishes it on the host')
  const template = /^\s*server-template \S+ (\d+) (\S+):(\d+)$/m.exec(config)
  t.ok(template, 'the servers come from a template filled by DNS')
  t.equal(template?.[2], 'gateway', 'the compose service name, which Docker\'s DNS resolves to every replica')
  t.equal(template?.[3], port, 'on the port the replicas listen on')
  t.ok(Number(template?.[1]) >= gateway.deploy!.replicas!, 'room for every replica (and --scale beyond)')
  const prometheus = readFileSync(paths.prometheus, 'utf8')
  t.notMatch(prometheus, /targets:.*balancer/, 'Prometheus never scrapes the balancer: it would see one replica per scrape')
})

t.test('Grafana: anonymous viewers, a documented admin login', async (t) => {
  const env = services.grafana?.environment ?? {}
  t.equal(env.GF_AUTH_ANONYMOUS_ENABLED, 'true')
  t.equal(env.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer')
  t.equal(env.GF_SECURITY_ADMIN_USER, 'admin')
  t.equal(env.GF_SECURITY_ADMIN_PASSWORD, '${GRAFANA_ADMIN_PASSWORD:-admin}')
  t.match(readFileSync(join(root, 'README.md'), 'utf8'), /admin \/ admin/, 'the README gives the login')
})
