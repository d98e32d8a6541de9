# sanitizer in a container. The image holds no secret: at run time give it the masking key as a file
# (SANITIZER_KEY_FILE, e.g. a mounted secret) or SANITIZER_KEY, and a config and rules (a mount).
#
#   docker build -t sanitizer:0.1.0 .
#   docker run --rm sanitizer:0.1.0 demo                       # the demo, no key and no server needed
#   docker run --rm -v /etc/sanitizer:/etc/sanitizer:ro -v sanitizer-state:/var/lib/sanitizer \
#     -e SANITIZER_KEY_FILE=/etc/sanitizer/staging.key --env-file /etc/sanitizer/refresh.env \
#     sanitizer:0.1.0 run --config /etc/sanitizer/staging.yaml
#
# PYTHON_IMAGE may name a mirror of the same image (docs/operations.md).
ARG PYTHON_IMAGE=python:3.11-slim

# --- build: compile the optional C extensions (sanitizer/_native.c, _pgcopy.c) into a wheel ---------
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sanitizer/ sanitizer/
COPY rules/demo.yaml rules/demo.yaml
# The extensions are optional in pyproject.toml (an install without a compiler still works); here a
# failed compile must fail the build, hence the import check. `python -I`: not the sources in /src.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-cache-dir /wheels/sanitizer-*.whl \
 && /opt/venv/bin/python -I -c "import sanitizer._native, sanitizer._pgcopy" \
 && install -D -m 0644 rules/demo.yaml \
      "$(/opt/venv/bin/python -I -c 'import sanitizer.demo as d; print(d.RULES)')"
# (`sanitizer demo` reads rules/demo.yaml beside the installed package, where the line above puts it.)

# --- runtime: the venv, psql/pg_dump for PostgreSQL sources, no compiler, no root -------------------
FROM ${PYTHON_IMAGE}
# postgresql-client: pg_dump copies the source's exact schema, psql streams whole tables in the run's
# snapshot; both must be at least as new as the source server (else set SANITIZER_PG_DUMP, docs/types.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sanitizer \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/sanitizer --create-home \
      --shell /usr/sbin/nologin sanitizer
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# numeric, so that Kubernetes' runAsNonRoot can check it
USER 10001:10001
WORKDIR /var/lib/sanitizer
LABEL org.opencontainers.image.title="sanitizer" \
      org.opencontainers.image.description="Refresh staging from production with no personal data in it" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["sanitizer"]
CMD ["--help"]
