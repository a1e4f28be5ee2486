# The appliance's container image: `scripts/build-image.sh` builds it (docker, or buildah from
# locally made bases when no Docker daemon answers). Stage 1 runs `npm ci` and `npm run build`
# (dist/mdm.cjs with its migrations, console assets and SQLite's addon); stage 2 is a slim Node
# with that directory alone: no node_modules, no toolchain.
ARG BUILD_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=node:20-bookworm-slim

FROM ${BUILD_IMAGE} AS build
# better-sqlite3 compiles its addon when no prebuilt one can be downloaded: python3, make, g++.
# node:20-bookworm and the local build base have them; install them on any other base.
RUN missing=; for t in python3 make g++; do command -v "$t" >/dev/null || missing=1; done; \
    if [ -n "$missing" ]; then apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*; fi
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production \
    MDM_DATA_DIR=/data
# A fixed uid/gid, so a volume's owner is known in advance (chown 10001 on a host directory);
# `mdm` runs the CLI beside the server: docker exec CONTAINER mdm ca show.
RUN groupadd --gid 10001 mdm \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data --shell /usr/sbin/nologin mdm \
    && mkdir -p /data && chown 10001:10001 /data && chmod 0700 /data \
    && printf '#!/bin/sh\nexec node /opt/mdm/mdm.cjs "$@"\n' > /usr/local/bin/mdm && chmod 0755 /usr/local/bin/mdm
COPY --from=build /src/dist /opt/mdm
COPY scripts/container/healthcheck.cjs /opt/mdm/healthcheck.cjs
USER 10001:10001
WORKDIR /data
VOLUME /data
# HTTPS (MDM_HTTPS_PORT). Set MDM_PUBLIC_URL to the URL devices reach, e.g. https://mdm.example.com:8443.
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/opt/mdm/healthcheck.cjs"]
# node is PID 1: the server handles SIGTERM (docker stop) and SIGINT itself, finishing requests
# in flight and closing the database.
ENTRYPOINT ["node", "/opt/mdm/mdm.cjs"]
CMD ["serve"]
