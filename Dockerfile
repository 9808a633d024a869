# Cohort's image, built and run on Debian 12 from Debian's packages, running as a non-root user.
#   docker build -t cohort .
#   docker run --rm cohort --help
# docker-compose.yml runs this image as `serve` replicas and a `worker` (README, "Running at scale").
# tests/deploy/check_deploy.py checks that the build stage installs every library of scripts/install-deps.sh and
# that the runtime stage installs the package of every library the binary links.

FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config \
      libboost1.74-dev libsqlite3-dev libpqxx-dev libpq-dev nlohmann-json3-dev libsimdjson-dev \
      libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libcurl4-openssl-dev \
      libhiredis-dev librabbitmq-dev libmongoc-dev libbson-dev libnlopt-cxx-dev libeigen3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake/ cmake/
COPY src/ src/
# Only the server: the tests and benchmarks are not part of the image.
RUN cmake --preset release -DCOHORT_BUILD_TESTS=OFF -DCOHORT_BUILD_BENCH=OFF \
 && cmake --build --preset release --target cohort \
 && strip build/release/cohort

FROM debian:12-slim
# The packages holding the libraries `cohort` links (readelf -d, then dpkg -S; libc6, libgcc-s1 and libstdc++6 are
# in the base image already and listed so that the check needs no exceptions); curl is for HEALTHCHECK,
# ca-certificates for TLS to managed databases.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libspdlog1.10 libfmt9 libsimdjson14 libsqlite3-0 libpq5 libcurl4 libtomlplusplus3 \
      libmongoc-1.0-0 libbson-1.0-0 libhiredis0.14 libnlopt0 librabbitmq4 libssl3 libstdc++6 libgcc-s1 libc6 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 cohort \
 && useradd --uid 10001 --gid cohort --home-dir /var/lib/cohort --create-home --shell /usr/sbin/nologin cohort
COPY --from=build /src/build/release/cohort /usr/local/bin/cohort
# A numeric user, so that orchestrators can verify that the container does not run as root.
USER 10001:10001
WORKDIR /var/lib/cohort
# The embedded SQLite store and queue live in /var/lib/cohort (mount a volume there when using them). The server
# listens on every interface only when COHORT_API_KEYS is set; without keys it binds 127.0.0.1 whatever this says.
ENV COHORT_DATA_DIR=/var/lib/cohort \
    COHORT_HOST=0.0.0.0 \
    COHORT_PORT=8080
EXPOSE 8080
# Liveness only (/healthz); compose and load balancers use /readyz to decide where to send traffic.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${COHORT_PORT}/healthz" || exit 1
ENTRYPOINT ["cohort"]
CMD ["serve"]
