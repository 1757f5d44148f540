# The province's fleet server and its core media edge (the same edge program
# as on the boxes, in its core role), as compiled JavaScript on production
# dependencies only. Boxes do not run this image: see images/.
# `.dockerignore` keeps node_modules, data/ (the registry, with credential
# hashes), .git and test output out of the build context; the test
# scripts/test/image-tree.test.ts assembles this image's tree the way these
# steps do and starts it.

# --- build: natives, the dashboard, the bundles, then production deps only ---
FROM node:20-bookworm AS build
# The mediasoup worker is built against Debian's libraries (the README's "Native parts").
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ patch meson ninja-build pkg-config \
      libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev flatbuffers-compiler libflatbuffers-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/diemcau
# Manifests first, so the npm ci layer is reused while only sources change.
COPY package.json package-lock.json .npmrc ./
COPY shared/package.json shared/
COPY appliance/package.json appliance/
COPY fleet/package.json fleet/
COPY provisioning/package.json provisioning/
RUN npm ci --no-audit --no-fund
# What setup and build read: the native builds' script and patches, our sources, the dashboard.
COPY scripts/setup.mjs scripts/build.mjs scripts/
COPY scripts/mediasoup-patches scripts/mediasoup-patches
COPY shared/src shared/src
COPY appliance/src appliance/src
COPY fleet/src fleet/src
COPY fleet/ui fleet/ui
COPY fleet/scripts fleet/scripts
COPY fleet/datasets fleet/datasets
# better-sqlite3, onoff's epoll and the mediasoup worker (into node_modules), the dashboard
# bundle (fleet/public/build), then the bundles (fleet/dist, appliance/dist); then every dev
# dependency (tsx, TypeScript, esbuild, tap, ...) is removed, and the natives' sources (only
# their built binaries are loaded).
RUN DIEMCAU_CACHE_DIR=/tmp/diemcau-cache node scripts/setup.mjs \
 && rm -rf /tmp/diemcau-cache \
 && node scripts/build.mjs \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src node_modules/better-sqlite3/build/Release/obj.target \
 && find node_modules/mediasoup/worker -mindepth 1 -maxdepth 1 ! -name out -exec rm -rf {} +

# --- run: Node, the worker's shared libraries, ffmpeg; no compilers, no sources ---
FROM node:20-bookworm-slim
# ffmpeg for the core edge's rooms; postgresql-client-15 for `diemcau-server backup|restore` of a
# cluster's registry (pg_dump, pg_restore); the rest are what the mediasoup worker links at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini postgresql-client-15 libssl3 libuv1 libsrtp2-1 libusrsctp2 libabsl20220623 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/diemcau
# The workspaces' package.json files stay: node_modules/@diemcau/* link to them, and the
# fleet finds its datasets and dashboard beside its own package.json.
COPY --from=build /opt/diemcau/package.json /opt/diemcau/package-lock.json ./
COPY --from=build /opt/diemcau/node_modules node_modules
COPY --from=build /opt/diemcau/shared/package.json shared/
COPY --from=build /opt/diemcau/provisioning/package.json provisioning/
COPY --from=build /opt/diemcau/appliance/package.json appliance/
COPY --from=build /opt/diemcau/appliance/dist appliance/dist
COPY --from=build /opt/diemcau/fleet/package.json fleet/
COPY --from=build /opt/diemcau/fleet/node_modules fleet/node_modules
COPY --from=build /opt/diemcau/fleet/dist fleet/dist
COPY --from=build /opt/diemcau/fleet/datasets fleet/datasets
COPY --from=build /opt/diemcau/fleet/public/build fleet/public/build
COPY deploy/start.sh /usr/local/bin/diemcau-server
ENV NODE_ENV=production \
    DIEMCAU_DATA_DIR=/var/lib/diemcau \
    DIEMCAU_HTTP_PORT=8080 \
    DIEMCAU_MQTT_PORT=1883 \
    DIEMCAU_EDGE_PORT=7443
RUN mkdir -p /var/lib/diemcau && chown node:node /var/lib/diemcau
VOLUME /var/lib/diemcau
# The API and dashboard, MQTT, the core edge's signalling; WebRTC's UDP range is the edge's
# DIEMCAU_EDGE_RTC_MIN_PORT..MAX_PORT (publish it, or run with host networking).
EXPOSE 8080 1883 7443
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/diemcau-server"]
# `all`: the fleet and the core edge; `fleet` or `edge` runs one of them.
CMD ["all"]
