# The receiver image: same entry point as the tests (`python -m receiver serve`).
# Not built in this repository's CI (no Docker engine there); kept deliberately simple.
# The dashboard's chart library from npm (pinned by package-lock.json), never committed.
FROM node:20-slim AS dashboard
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund \
    && mkdir vendor \
    && cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/LICENSE.md vendor/

FROM python:3.14-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RECEIVER_HOST=0.0.0.0 \
    RECEIVER_PORT=8080

WORKDIR /app
COPY constraints.txt pyproject.toml README.md ./
COPY receiver ./receiver
COPY --from=dashboard /build/vendor ./receiver/dashboard/static/vendor
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /app receiver \
    && mkdir -p /data && chown receiver /data
USER receiver
WORKDIR /data

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/ready', timeout=4).status != 200)"
ENTRYPOINT ["printernizer-receiver"]
CMD ["serve", "--workers", "2"]
