// The admin API: named keys created, listed, read, revoked, and their spend read, with the master
// key (GATEWAY_MASTER_KEY) only; any other key, named or not, gets a 403. A created key's secret
// is in the creation's answer and nowhere else: the store keeps its SHA-256 only, and no answer
// shows even that. The keys file's keys are listed too (`source: "file"`); they change in the file.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { GatewayError, invalidRequest } from '../../errors.ts'
import type { AdminKeyStore } from '../../keys/admin-store.ts'
import { digestOf, newSecret } from '../../keys/hash.ts'
import type { KeyRing } from '../../keys/keyring.ts'
import type { Principal } from '../../keys/principal.ts'
import { keyFields, problemOf, publicView, strict, type KeyRecord } from '../../keys/record.ts'

export interface AdminKeyDeps {
  store: AdminKeyStore
  keyring: KeyRing
  /** A key's spend so far (the limits and budgets' store); absent: spend is not counted. */
  spendOf?: ((principal: Principal) => Promise<unknown>) | undefined
}

const createBody = strict(keyFields, 'an object {name, team?, metadata?, models?, limits?, budgets?}')

async function requireMaster(request: FastifyRequest): Promise<void> {
  if (request.principal?.kind === 'master') return
  throw new GatewayError('forbidden', 'The admin API takes the master key (GATEWAY_MASTER_KEY) only.', { code: 'master_key_required' })
}

/** The store failing (Redis unreachable) is a 503, not a bug. */
async function stored<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    throw new GatewayError('unavailable', 'The key store (Redis) is unreachable; try again shortly.', { code: 'key_store_unavailable', headers: { 'retry-after': '1' }, cause: error })
  }
}

const shown = (record: KeyRecord, source: 'admin' | 'file') => ({ object: 'gateway.key', ...publicView(record), source })

export function adminKeyRoutes(app: FastifyInstance, deps: AdminKeyDeps | undefined): void {
  const guarded = { preHandler: requireMaster }
  /** The key with this id, the admin store's first, then the keys file's; a 404 when none. */
  const find = async (id: string): Promise<{ record: KeyRecord; source: 'admin' | 'file' }> => {
    const record = deps && (await stored(() => deps.store.get(id)))
    if (record) return { record, source: 'admin' }
    const fromFile = deps?.keyring.fileKeys().find((key) => key.id === id)
    if (fromFile) return { record: fromFile, source: 'file' }
    throw new GatewayError('not_found', `No key with the id \`${id}\`.`, { code: 'key_not_found' })
  }
  /** Without a master key no request is ever the master: the guard refuses everyone first. */
  const live = (): AdminKeyDeps => deps!

  app.post('/admin/keys', guarded, async (request, reply) => {
    const parsed = createBody.safeParse(request.body ?? {})
    if (!parsed.success) {
      const first = parsed.error.issues[0]!
      throw invalidRequest(`Invalid key: ${parsed.error.issues.map((issue) => problemOf(issue)).join('; ')}.`, first.path.map(String).join('.') || null)
    }
    const secret = newSecret()
    const record: KeyRecord = { id: `key_${randomBytes(12).toString('base64url')}`, ...parsed.data, digest: digestOf(secret).toString('hex'), createdAt: new Date().toISOString() }
    await stored(() => live().store.create(record))
    reply.code(201)
    return { ...shown(record, 'admin'), secret, note: 'The secret is shown this once: the gateway keeps only its SHA-256.' }
  })

  app.get('/admin/keys', guarded, async () => {
    const created = await stored(() => live().store.list())
    return { object: 'list', data: [...live().keyring.fileKeys().map((record) => shown(record, 'file')), ...created.map((record) => shown(record, 'admin'))] }
  })

  app.get<{ Params: { id: string } }>('/admin/keys/:id', guarded, async (request) => {
    const { record, source } = await find(request.params.id)
    return shown(record, source)
  })

  app.delete<{ Params: { id: string } }>('/admin/keys/:id', guarded, async (request) => {
    const { source } = await find(request.params.id)
    if (source === 'file') {
      throw invalidRequest(`The key \`${request.params.id}\` comes from the keys file: revoke it there ("revoked": true); the file is reloaded without a restart.`, 'id')
    }
    const revoked = await stored(() => live().store.revoke(request.params.id))
    return shown(revoked!, 'admin')
  })

  app.get<{ Params: { id: string } }>('/admin/keys/:id/spend', guarded, async (request) => {
    const { record } = await find(request.params.id)
    const { spendOf, keyring } = live()
    if (!spendOf) return { object: 'gateway.key.spend', id: record.id, spend: null, note: 'Spend is not counted by this gateway (no limits or budgets store).' }
    // The limits' Redis may be down while the keys' answers: a 503 to try again, not a 500.
    const spend = await stored(() => spendOf(keyring.principalOf(record)))
    return { object: 'gateway.key.spend', id: record.id, spend }
  })
}
