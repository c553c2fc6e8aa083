#!/usr/bin/env sh
# tap compiles its plugin set into node_modules; a fresh install holds the default set, which
# includes the ts-node based TypeScript plugin this project turns off (Node strips types itself).
# Rebuild once when that default build is still in place.
built=node_modules/@tapjs/test/test-built/src/index.ts
if [ ! -f "$built" ] || grep -q 'Plugin_typescript' "$built"; then
  exec tap build >/dev/null
fi
