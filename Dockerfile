# crash-cache in a container: Node LTS (26) on Debian slim, a non-root user, data on a volume, a health
# check. With DATABASE_URL unset it runs the embedded PostgreSQL in /data (the npm package's binaries);
# compose.yaml runs it against a PostgreSQL service instead.
#   docker build -t crash-cache .        (or: podman build / buildah bud)
# NODE_IMAGE may name any Node ≥ 22.15 image on Debian; README "Container" says how this file was verified.
ARG NODE_IMAGE=node:26-bookworm-slim
# Extra npm flags, e.g. "--offline --cache /npm-cache" to build from a mounted npm cache without a registry.
ARG NPM_FLAGS=""

FROM ${NODE_IMAGE} AS build
ARG NPM_FLAGS
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY bin bin
COPY src src
COPY bench bench
COPY test/fixtures/corpus.ts test/fixtures/corpus.ts
COPY migrations migrations
# Installs everything and builds dist/ (the `prepare` script), then packs exactly what npm would publish.
RUN npm ci --no-audit --no-fund $NPM_FLAGS && npm pack --ignore-scripts --pack-destination /tmp && mv /tmp/crash-cache-*.tgz /tmp/crash-cache.tgz

FROM ${NODE_IMAGE}
ARG NPM_FLAGS
# PostgreSQL refuses to run as root; the server runs as `crash-cache`, which also owns the embedded cluster.
RUN groupadd --system crash-cache && useradd --system --gid crash-cache --home-dir /app --shell /usr/sbin/nologin crash-cache \
 && mkdir -p /app /data && chown crash-cache:crash-cache /app /data
WORKDIR /app
COPY --from=build /tmp/crash-cache.tgz /tmp/crash-cache.tgz
USER crash-cache
RUN npm install --omit=dev --no-audit --no-fund --no-save $NPM_FLAGS /tmp/crash-cache.tgz && rm -rf /app/.npm
ENV NODE_ENV=production DATA_DIR=/data SERVER_HOST=0.0.0.0 SERVER_PORT=3000 PATH=/app/node_modules/.bin:$PATH
VOLUME /data
EXPOSE 3000
# /health answers 200 when the database does (503 otherwise), within 2.5 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.SERVER_PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["crash-cache"]
