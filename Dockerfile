# ToteTaxi: one image for the web process (gunicorn) and the worker (run_huey); see README "Production".
# Build stage: compilers and pip live here only; the final stage gets the finished virtualenv and static files.
FROM python:3.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Runtime dependencies only (no [dev] extra); copied first so code changes reuse this layer.
COPY pyproject.toml ./
RUN pip install .
COPY . .
# collectstatic needs settings to load; these values reach no customer, and this key signs nothing and is not in the final image's environment.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-build-key STATIC_ROOT=/app/staticfiles \
    PUBLIC_SITE_URL=https://build.invalid TOTETAXI_SUPPORT_PHONE=+12125550100 \
    python manage.py collectstatic --noinput -v 0

FROM python:3.13-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DEBUG=0 STATIC_ROOT=/app/staticfiles PORT=8000
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=app:app /app /app
WORKDIR /app
USER app
EXPOSE 8000
# gunicorn reads /app/gunicorn.conf.py (bind 0.0.0.0:$PORT, workers from WEB_CONCURRENCY).
CMD ["gunicorn", "totetaxi.wsgi:application"]
