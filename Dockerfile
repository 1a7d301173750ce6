# syntax=docker/dockerfile:1
# Coffer's image: built with the same script and toolchain as scripts/serve.sh, then only the
# binary and the site's static files in a distroless runtime, running as a non-root user.
#
#   docker build -t coffer .
#   docker run -p 3000:3000 -v coffer-data:/data coffer      # SQLite and blobs in /data

FROM rust:1.95-bookworm AS build
# npm: wasm-opt comes from npm's binaryen (scripts/ensure-tools.sh says why). Debian's versions
# are not pinned: its security updates replace them; the build tools that matter are pinned
# by scripts/ensure-tools.sh.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The tools and the build cache persist between builds in BuildKit cache mounts; the binary and
# the site are copied out of the cache in the same step.
ENV COFFER_CACHE=/var/cache/coffer
RUN --mount=type=cache,target=/var/cache/coffer \
    --mount=type=cache,target=/usr/local/cargo/registry \
    bash -c 'source scripts/ensure-tools.sh \
      && scripts/build.sh \
      && mkdir -p /out/data \
      && cp "$CARGO_TARGET_DIR/release/coffer" /out/coffer \
      && cp -r target/site /out/site'

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/coffer /usr/local/bin/coffer
COPY --from=build /out/site /app/site
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /app
ENV LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    COFFER_DATA_DIR=/data \
    COFFER_LOG_FORMAT=json
USER 65532:65532
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=6s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/coffer", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/coffer"]
CMD ["serve"]
