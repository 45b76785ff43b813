# The gpufleet tracker image: builds the workspace on Node 20, then lays a slim runtime over
# BASE_IMAGE (a CUDA runtime for GPU machines, or any Debian/Ubuntu image) with Node copied in, tini
# as PID 1 so SIGTERM reaches the tracker, a non-root user, a HEALTHCHECK, and the executers baked in.
#
#   docker build -t executer-tracker .                                   # GPU image, whole catalog
#   docker build -t tracker-cpu --build-arg BASE_IMAGE=debian:bookworm-slim .
#   docker run --gpus all -e REDIS_URL=redis://redis:6379 -e REDIS_CONSUMER_NAME=gpu-box-1 executer-tracker
#
# scripts/build-executer-image.ts builds an executer's own image first and this one FROM it
# (--build-arg BASE_IMAGE=<executer image>), replacing the `executers` stage with the executer's
# folder (--build-context executers=<folder>), so the image runs exactly that executer.
# Needs BuildKit (Docker 23+): RUN --mount and --build-context.
ARG BASE_IMAGE=nvidia/cuda:12.4.1-runtime-ubuntu22.04
ARG NODE_IMAGE=node:20-bookworm-slim

# What the tracker loads (GPUFLEET_EXECUTERS): the whole catalog unless a build context replaces it.
FROM scratch AS executers
COPY packages/executers/catalog/ /

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --ignore-scripts
# gpufleet-task-init kills a task's processes if the tracker dies; static, so any BASE_IMAGE runs it.
RUN cc -O2 -static -o /usr/local/bin/gpufleet-task-init packages/tracker/native/task-init.c
# The API image serves the dashboard (packages/dashboard/dist, built with the client library).
RUN npx tsc -b packages/tracker packages/executers packages/api packages/api-client \
 && npm run build --silent -w @gpufleet/dashboard \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts \
 && chmod 755 packages/tracker/dist/bin/*.js \
 && find packages -mindepth 2 -maxdepth 2 \( -name src -o -name test -o -name '*.tsbuildinfo' \) -prune -exec rm -rf {} +

# The web API (docker-compose.yml's `api`): plain Node, no GPU base, the same non-root user.
FROM ${NODE_IMAGE} AS api
COPY --from=build /usr/bin/tini-static /usr/bin/tini
RUN groupadd --system --gid 10001 gpufleet \
 && useradd --system --uid 10001 --gid gpufleet --create-home --home-dir /home/gpufleet gpufleet \
 && mkdir -p /mnt/artifacts && chown gpufleet:gpufleet /mnt/artifacts
COPY --from=build /app/package.json /app/package.json
COPY --from=build /app/node_modules /app/node_modules
COPY --from=build /app/packages /app/packages
ENV NODE_ENV=production GPUFLEET_API_HOST=0.0.0.0 ARTIFACT_STORE=/mnt/artifacts
USER gpufleet
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GPUFLEET_API_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/packages/api/dist/bin/gpufleet-api.js"]

FROM ${BASE_IMAGE} AS runtime
ARG BASE_IMAGE
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /usr/bin/tini-static /usr/bin/tini
COPY --from=build /usr/local/bin/gpufleet-task-init /usr/local/bin/gpufleet-task-init
RUN groupadd --system --gid 10001 gpufleet \
 && useradd --system --uid 10001 --gid gpufleet --create-home --home-dir /home/gpufleet gpufleet \
 && mkdir -p /var/lib/gpufleet /mnt/artifacts \
 && chown gpufleet:gpufleet /var/lib/gpufleet /mnt/artifacts
COPY --from=build /app/package.json /app/package.json
COPY --from=build /app/node_modules /app/node_modules
COPY --from=build /app/packages /app/packages
COPY --from=executers / /opt/gpufleet/executers/
RUN ln -s /app/packages/tracker/dist/bin/gpufleet-tracker.js /usr/local/bin/gpufleet-tracker \
 && node --version
ENV NODE_ENV=production \
    GPUFLEET_EXECUTERS=/opt/gpufleet/executers \
    GPUFLEET_WORKDIR=/var/lib/gpufleet/work \
    GPUFLEET_TASK_INIT=/usr/local/bin/gpufleet-task-init \
    ARTIFACT_STORE=/var/lib/gpufleet/artifacts
LABEL org.opencontainers.image.title="gpufleet tracker" \
      org.opencontainers.image.description="Runs gpufleet executers on this machine's GPUs, taking tasks from Redis Streams" \
      org.gpufleet.base-image="${BASE_IMAGE}"
WORKDIR /var/lib/gpufleet
USER gpufleet
# The tracker has no HTTP port: the check reads this tracker's heartbeat from Redis.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "/app/packages/tracker/dist/bin/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--", "gpufleet-tracker"]
