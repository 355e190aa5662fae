# Dockyard's image: one image for the api and the worker, the command picks the role
# (`api`, `worker`, `all`, `migrate`, or `dockyard <cli command>`). Migrations are applied at start.
#
#   docker build -t dockyard .                                  # FROM node:20-bookworm-slim
#   docker build --build-arg BASE_IMAGE=my-mirror/node:20 -t dockyard .
#
# The base needs Node 20 with npm, a /bin/sh and a `node` user (as the official node images have);
# git is installed with apt-get when the base lacks it (workers fetch sources with it).
ARG BASE_IMAGE=node:20-bookworm-slim

# Every npm dependency, from the lockfile only: this layer is reused until the lockfile changes.
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# What the runtime needs: the dependencies without the dev ones.
FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund --loglevel=error

# Prisma client and the compiled monorepo (swc) into dist/.
FROM deps AS build
COPY .swcrc prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
COPY apps ./apps
COPY libs ./libs
COPY bench ./bench
RUN node scripts/prisma-generate.mjs >/dev/null && node scripts/build.mjs

FROM ${BASE_IMAGE} AS runtime
RUN if ! command -v git >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends git ca-certificates openssh-client && \
      rm -rf /var/lib/apt/lists/*; \
    fi && \
    mkdir -p /var/lib/dockyard/git /usr/local/bin && chown -R node:node /var/lib/dockyard
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    GIT_CACHE_DIR=/var/lib/dockyard/git \
    MIGRATE_ON_START=true
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY prisma ./prisma
COPY scripts/migrate.mjs ./scripts/migrate.mjs
COPY docker/entrypoint.sh docker/healthcheck.mjs ./docker/
COPY docker/dockyard /usr/local/bin/dockyard
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/app/docker/healthcheck.mjs"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["api"]
