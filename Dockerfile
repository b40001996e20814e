# syntax=docker/dockerfile:1
# Stage 1: build the SPA with Node (the PRD's Node 22).
FROM node:22-bookworm-slim AS frontend
WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# Stage 2: the application on a slim Python image, as a non-root user. The package
# is installed (not run from its source: templates and migrations come from the
# installed copy, as tests/test_image.py checks), the SPA beside it.
FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 DATA_DIR=/data \
    FRONTEND_DIST=/app/frontend/dist
WORKDIR /build
COPY requirements.lock pyproject.toml README.md ./
COPY app/ app/
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
    && pip install --no-cache-dir --no-deps . \
    && rm -rf /build \
    && useradd --system --create-home --uid 10001 tracker \
    && mkdir -p /data /app && chown tracker /data
WORKDIR /app
COPY --from=frontend /build/frontend/dist frontend/dist
# The user by number: a runtime that checks for a non-root user cannot read names.
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4).status != 200)"]
CMD ["python", "-m", "app", "serve"]
