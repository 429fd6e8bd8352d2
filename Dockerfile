# The worker image for the production (Docker) work pool: the flows, connectors, warehouse backends and
# dbt project with their locked dependencies. No secrets: they come from Prefect blocks at run time.
FROM python:3.11-slim-bookworm AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /app
# Dependencies first (cached until uv.lock changes), then the project itself: editable, so that it runs from
# /app, where the dbt project, the FX seed and pipeline.yaml are (mdp.paths resolves them from the package).
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
COPY README.md pipeline.yaml targets.csv prefect.yaml ./
COPY mdp ./mdp
COPY connectors ./connectors
COPY warehouse ./warehouse
COPY flows ./flows
COPY deployments ./deployments
COPY sandbox ./sandbox
COPY transformations ./transformations
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin mdp
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder --chown=mdp:mdp /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    PREFECT_CLIENT_MAX_RETRIES=10 \
    PREFECT_CLIENT_RETRY_EXTRA_CODES=502,504 \
    DBT_PROFILES_DIR=/app/transformations
WORKDIR /app
USER 10001:10001
# The dbt project has no package dependencies (its generic tests live in transformations/macros); parsing
# it at build time fails the build on a broken project instead of at the first run.
RUN MDP_BQ_PROJECT=parse-only dbt parse --project-dir transformations --target bigquery --target-path /tmp/dbt-target --log-path /tmp/dbt-logs
HEALTHCHECK --interval=60s --timeout=20s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import flows.daily, flows.transform, warehouse.bigquery"]
# Flow runs start through the Docker worker, which sets the command; alone, the image checks its configuration.
CMD ["mdp", "check"]
