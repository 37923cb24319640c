# Ensemble's services as one image: built with the Swift toolchain, run on a slim image
# with the Swift runtime and librdkafka >= 2.1 (Ubuntu 24.04 ships 2.3), as a non-root user.
# Each compose service runs one of the executables: ensemble-orchestrator,
# ensemble-aggregator, ensemble-payment, ensemble-inventory, ensemble-shipping,
# ensemble-profile, and the `ensemble` CLI (topic creation, orders, benchmarks).

FROM swift:6.2-noble AS build
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends librdkafka-dev libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a change to the sources does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY . .
RUN swift build -c release --static-swift-stdlib \
    && mkdir /out \
    && for name in ensemble ensemble-orchestrator ensemble-aggregator ensemble-payment ensemble-inventory ensemble-shipping ensemble-profile; do \
         cp ".build/release/$name" /out/; \
       done

FROM ubuntu:24.04
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends librdkafka1 libsqlite3-0 ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/ensemble --create-home ensemble
COPY --from=build /out/ /usr/local/bin/
USER ensemble
WORKDIR /var/lib/ensemble
ENV DATA_DIRECTORY=/var/lib/ensemble/data LOG_FORMAT=json HTTP_HOST=0.0.0.0
CMD ["ensemble", "--help"]
