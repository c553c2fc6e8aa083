// Named keys wired together: the key ring (keys file and admin API), the authenticator over it
// (made in main.ts before the HTTP stack: the instrumentation shares it), then, in createGateway,
// the admin store (memory, or Redis with REDIS_URL) and the keys file's watch.
import type { FastifyBaseLogger } from 'fastify'
import { createAuthenticator, type Authenticator } from '../auth.ts'
import type { Config } from '../config.ts'
import { SecretScrubber } from '../scrub.ts'
import { MemoryKeyStore, type AdminKeyStore } from './admin-store.ts'
import { watchKeysFile } from './file-watch.ts'
import { KeyRing } from './keyring.ts'

export interface KeyAccess {
  /** Undefined when neither GATEWAY_KEYS_FILE nor GATEWAY_MASTER_KEY is set (no named keys). */
  keyring: KeyRing | undefined
  authenticator: Authenticator
}

export function createKeyAccess(config: Config): KeyAccess {
  const named = config.keys.file !== undefined || config.keys.masterKey !== undefined
  const keyring = named ? new KeyRing(config.keys.file?.initial) : undefined
  return { keyring, authenticator: createAuthenticator({ apiKeys: config.apiKeys, masterKey: config.keys.masterKey, keyring }) }
}

export interface NamedKeys {
  /** The admin API's store; undefined without GATEWAY_MASTER_KEY. */
  store: AdminKeyStore | undefined
  /** Where the admin API keeps keys, for the start-up log. */
  summary: string
  close(): Promise<void>
}

export async function startNamedKeys(config: Config, keyring: KeyRing | undefined, logger: FastifyBaseLogger): Promise<NamedKeys> {
  const watch = config.keys.file && keyring ? watchKeysFile(config.keys.file.path, keyring, logger) : undefined
  let store: AdminKeyStore | undefined
  if (config.keys.masterKey && keyring) {
    if (config.redisUrl) {
      const { RedisKeyStore } = await import('./redis-keys.ts')
      const scrubber = new SecretScrubber(config.secrets)
      const redis = new RedisKeyStore(config.redisUrl, keyring, logger, (text) => scrubber.scrub(text))
      keyring.remote = redis
      await redis.ready()
      store = redis
    } else {
      store = new MemoryKeyStore(keyring)
    }
  }
  const counts = keyring?.counts()
  return {
    store,
    summary: !keyring
      ? 'off (GATEWAY_KEYS_FILE and GATEWAY_MASTER_KEY unset)'
      : `${counts!.file} from ${config.keys.file?.path ?? 'no keys file'}; admin API ${!store ? 'off (no GATEWAY_MASTER_KEY)' : store.kind === 'redis' ? 'keys in Redis (REDIS_URL)' : 'keys in memory (lost on restart; set REDIS_URL to keep and share them)'}`,
    close: async () => {
      watch?.close()
      await store?.close()
    },
  }
}
