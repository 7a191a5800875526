# syntax=docker/dockerfile:1
# One image for every job (init, consumer, web, dispatcher, one-shot tasks); the command
# picks the job. Built once by docker-compose.yml as insights:local.
#
# The base, pinned by digest (python 3.11.10, Debian bookworm, slim; the digest of its
# multi-platform index, amd64 and arm64). To move it, read the new tag's digest with
#   docker buildx imagetools inspect python:3.11-slim-bookworm
# and change it here (or pass --build-arg PYTHON_IMAGE=... for a one-off build).
ARG PYTHON_IMAGE=python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16

# Stage 1: the wheel. Only the package's own files come in (.dockerignore), and the
# build tools stay behind in this stage.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY insights insights
COPY consumers consumers
COPY scoring scoring
COPY web web
RUN pip wheel --no-deps --wheel-dir /wheels .

# Stage 2: the runtime. The lock's exact versions, hash-checked and as prebuilt wheels
# only (no compiler here, none needed); then the wheel without resolving anything more;
# pip check proves the two agree. The embedded stack's wheels are not in the lock.
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    # A server URL left unset is an error here, never a quiet embedded server.
    INSIGHTS_EMBEDDED=never
# tini: PID 1 that forwards SIGTERM to the job (consumers finish their batch) and reaps
# the writer processes' children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
COPY requirements/runtime.lock /tmp/runtime.lock
RUN pip install --require-hashes --only-binary=:all: --no-deps -r /tmp/runtime.lock \
 && rm /tmp/runtime.lock
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-deps /wheels/insights-*.whl \
 && pip check
RUN useradd --system --uid 10001 --create-home --home-dir /home/insights insights
USER insights
WORKDIR /home/insights
ENTRYPOINT ["tini", "--", "insights"]
CMD ["--help"]
