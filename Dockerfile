# driftless's image: `docker build -t REGISTRY/driftless:0.1.0 .` from the repository root.
# Not built in CI (no Docker there); see README, "Running in a cluster".

# The toolchain the project is built and tested with; Cargo.toml's rust-version is the floor.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin driftless

FROM debian:bookworm-slim
# ca-certificates: https:// Git servers. openssh-client: gix runs the system `ssh` for
# ssh:// sources.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/*
# A uid with a passwd entry, because ssh refuses to run without one; the Deployment's
# runAsUser names the same uid.
RUN groupadd --gid 65532 driftless \
 && useradd --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin driftless
COPY --from=build /src/target/release/driftless /usr/local/bin/driftless
# Numeric, so that the kubelet can check runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/driftless"]
CMD ["run"]
