// Limits and budgets in Redis (REDIS_URL), so any number of replicas share one count. Each
// admission is one Lua script, run atomically by Redis in one round trip: it reads every gate and
// increases the request counters only if none is full, so two replicas can never both take the
// last request of a minute. Settling adds tokens and USD with INCRBYFLOAT in a second script.
// Every counter is made with a TTL (its window's end plus a margin): nothing grows without bound.
// The connection fails fast and logs an outage once (src/core/redis-client.ts); what a failed
// admission means (serve or refuse, GATEWAY_LIMITS_ON_REDIS_ERROR) is the engine's to decide.
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { FailFastRedis } from '../core/redis-client.ts'
import type { Admission, Amount, Gate, LimitStore } from './store.ts'

export const LIMITS_KEY_PREFIX = 'sik-llms-gateway:limits:v1:'

// KEYS: the gates; ARGV: limit, ttl ms, increment for each. Values are returned as Redis keeps
// them (strings): a Lua number would be truncated to an integer on the way back.
const ADMIT = `
local values = {}
local refused = -1
for i = 1, #KEYS do
  local raw = redis.call('GET', KEYS[i]) or '0'
  values[i] = raw
  if refused < 0 and tonumber(raw) >= tonumber(ARGV[3 * i - 2]) then refused = i - 1 end
end
if refused < 0 then
  for i = 1, #KEYS do
    local increment = tonumber(ARGV[3 * i])
    if increment > 0 then
      redis.call('INCRBY', KEYS[i], increment)
      if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[3 * i - 1]) end
    end
  end
end
table.insert(values, 1, refused)
return values
`

// KEYS: counters; ARGV: amount, ttl ms for each.
const ADD = `
for i = 1, #KEYS do
  redis.call('INCRBYFLOAT', KEYS[i], ARGV[2 * i - 1])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
end
return #KEYS
`

interface LimitCommands {
  limitsAdmit(keyCount: number, ...args: Array<string | number>): Promise<Array<string | number>>
  limitsAdd(keyCount: number, ...args: Array<string | number>): Promise<number>
}

export class RedisLimitStore implements LimitStore {
  readonly kind = 'redis'
  private readonly redis: FailFastRedis

  /** `scrub` takes secrets out of error text before it is logged (the URL's password is one). */
  constructor(url: string, logger: Pick<FastifyBaseLogger, 'warn' | 'info'>, scrub?: (text: string) => string) {
    this.redis = new FailFastRedis(url, OUTAGE, logger, scrub)
    // EVALSHA, falling back to EVAL once when Redis does not know the script (a restarted server).
    this.redis.client.defineCommand('limitsAdmit', { lua: ADMIT })
    this.redis.client.defineCommand('limitsAdd', { lua: ADD })
  }

  /** Connected (or the connect timeout gone by): awaited at start-up, so the first requests are checked. */
  ready(): Promise<void> {
    return this.redis.ready()
  }

  async admit(gates: Gate[]): Promise<Admission> {
    if (gates.length === 0) return { refused: -1, values: [] }
    const keys = gates.map((gate) => LIMITS_KEY_PREFIX + gate.key)
    const args = gates.flatMap((gate) => [String(gate.limit), String(Math.ceil(gate.ttlMs)), String(gate.increment)])
    const [refused, ...values] = await this.redis.command((client) => scripts(client).limitsAdmit(gates.length, ...keys, ...args))
    return { refused: Number(refused), values: values.map(Number) }
  }

  async add(amounts: Amount[]): Promise<void> {
    const some = amounts.filter((amount) => amount.amount > 0)
    if (some.length === 0) return
    const keys = some.map((amount) => LIMITS_KEY_PREFIX + amount.key)
    const args = some.flatMap(({ amount, ttlMs }) => [String(amount), String(Math.ceil(ttlMs))])
    await this.redis.command((client) => scripts(client).limitsAdd(some.length, ...keys, ...args))
  }

  async read(keys: string[]): Promise<number[]> {
    if (keys.length === 0) return []
    const values = await this.redis.command((client) => client.mget(keys.map((key) => LIMITS_KEY_PREFIX + key)))
    return values.map((value) => Number(value ?? 0))
  }

  close(): Promise<void> {
    return this.redis.close()
  }
}

const OUTAGE = {
  down: 'limits: Redis is unreachable or not answering; rate limits and budgets are not checked until it is back (GATEWAY_LIMITS_ON_REDIS_ERROR says whether calls are served or refused meanwhile)',
  back: 'limits: Redis is reachable again',
}

const scripts = (client: Redis) => client as Redis & LimitCommands
