# syntax=docker/dockerfile:1
# cmstate: one image, every entrypoint (`cmstate sweep|repair|snapshot|restore|metrics|doctor|...`).
#   docker build -t cmstate:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, compile TypeScript to dist/ --------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
COPY cli ./cli
RUN npm run build

# --- runtime: production dependencies and the compiled CLI only ------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1. Node as PID 1 gets no default signal handling from the kernel: a SIGTERM that
# arrives before the job runner installs its handler (or after it removes it) is ignored, and the
# kubelet then waits the whole grace period before SIGKILL. PID 1 also has to reap orphaned
# children (e.g. an exec'd kubectl). tini forwards SIGTERM/SIGINT to node, so the runner's own
# handler still finishes in-flight writes and releases its lease, and it reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --omit=dev leaves out the compiler, linters, tests' tools and the `node` npm dev dependency (the
# base image's node runs the CLI). No production dependency has an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="cmstate" \
      org.opencontainers.image.description="Keeps task-state ConfigMaps healthy: TTL sweeper, repair, snapshots and metrics for Kubernetes remediation controllers" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"

# Numeric, so Kubernetes can verify runAsNonRoot; the chart runs as the same UID/GID (10001).
# Files stay root-owned: the process can read, not modify, its own code (read-only root filesystem
# in the chart; writable: /tmp and the snapshot volume).
USER 10001:10001
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/cmstate.js"]
CMD ["--help"]
