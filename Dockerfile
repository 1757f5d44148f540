# The province's fleet server (and the media core, which is the same edge
# program in its core role). Boxes do not run this image: see images/.
FROM node:20-bookworm AS build
# The mediasoup worker is built against Debian's libraries (see the README's "Native parts").
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ patch meson ninja-build pkg-config \
      libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev flatbuffers-compiler libflatbuffers-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/diemcau
COPY package.json package-lock.json .npmrc ./
COPY shared/package.json shared/
COPY appliance/package.json appliance/
COPY fleet/package.json fleet/
COPY provisioning/package.json provisioning/
RUN npm ci --no-audit --no-fund
COPY . .
# Builds better-sqlite3, the mediasoup worker and the dashboard bundle.
RUN DIEMCAU_CACHE_DIR=/tmp/diemcau-cache node scripts/setup.mjs && rm -rf /tmp/diemcau-cache

FROM node:20-bookworm-slim
# ffmpeg for the core edge's rooms; the rest are what the mediasoup worker links at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini libssl3 libuv1 libsrtp2-1 libusrsctp2 libabsl20220623 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/diemcau
COPY --from=build /opt/diemcau /opt/diemcau
ENV NODE_ENV=production \
    DIEMCAU_DATA_DIR=/var/lib/diemcau \
    DIEMCAU_HTTP_PORT=8080 \
    DIEMCAU_MQTT_PORT=1883
RUN mkdir -p /var/lib/diemcau && chown node:node /var/lib/diemcau
VOLUME /var/lib/diemcau
EXPOSE 8080 1883
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["npx", "tsx", "fleet/src/main.ts"]
