# The web, worker and beat image. docker-compose.yml runs it three times against PostgreSQL and Redis
# containers; the run command (scripts/run.py) needs no Docker at all.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer, so that a code change does not reinstall them. The
# embedded servers are for machines without PostgreSQL and Redis; containers use real ones.
COPY pyproject.toml ./
RUN pip install .

# The project's own code runs from /app (pyproject.toml installs dependencies only).
COPY . .
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --system --no-create-home --home-dir /app app \
    && mkdir -p /app/var \
    && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
