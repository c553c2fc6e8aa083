// The keys file reloaded without a restart. Editors and deploy tools replace a file rather than
// write it in place (a new inode: a watch on the old one hears nothing more), so the directory is
// watched for the file's name, and its mtime and size are also polled, which catches what a watch
// misses (network file systems, a ConfigMap's symlink swap). A good file replaces every key at
// once; a bad one keeps the last good keys and logs its problems once (until the file changes).
import { statSync, watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { readKeysFile } from './file.ts'
import type { KeyRing } from './keyring.ts'

const POLL_MS = 1_000

export interface KeysFileWatch {
  close(): void
}

function signature(path: string): string {
  try {
    const stat = statSync(path)
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`
  } catch {
    return 'missing'
  }
}

export function watchKeysFile(path: string, keyring: KeyRing, logger: Pick<FastifyBaseLogger, 'warn' | 'info'>): KeysFileWatch {
  let seen = signature(path)
  let lastProblems = ''
  const reload = () => {
    const now = signature(path)
    if (now === seen) return
    seen = now
    const file = readKeysFile(path)
    if ('problems' in file) {
      const problems = file.problems.join('; ')
      if (problems !== lastProblems) logger.warn({ path, problems: file.problems }, 'keys file: not reloaded, the last good keys stay in use')
      lastProblems = problems
      return
    }
    lastProblems = ''
    keyring.setFile(file)
    logger.info({ path, keys: file.keys.filter((key) => !key.revoked).length, revoked: file.keys.filter((key) => key.revoked).length }, 'keys file: reloaded')
  }
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      if (name === null || name === basename(path)) reload()
    })
    watcher.on('error', () => watcher?.close())
  } catch {
    // No watch here (some file systems): the poll does it.
  }
  const poll = setInterval(reload, POLL_MS)
  poll.unref()
  return {
    close: () => {
      clearInterval(poll)
      watcher?.close()
    },
  }
}
