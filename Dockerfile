# syntax=docker/dockerfile:1
# Front-end assets are fetched from the npm registry in their own stage.
FROM node:20-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund \
 && mkdir -p /out \
 && cp node_modules/htmx.org/dist/htmx.min.js /out/htmx.min.js

# Python dependencies and the app, built into a virtual environment.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir .

# The slim runtime: the venv, the content, templates and static files; no build tools.
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libseccomp2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /srv/textbook textbook \
 && mkdir -p /var/lib/textbook && chown textbook /var/lib/textbook
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/textbook
COPY content ./content
COPY templates ./templates
COPY static ./static
COPY --from=assets /out/htmx.min.js ./static/vendor/htmx.min.js
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    TEXTBOOK_HOST=0.0.0.0 \
    TEXTBOOK_PORT=8000 \
    TEXTBOOK_DATA_DIR=/var/lib/textbook \
    TEXTBOOK_CONTENT_DIR=/srv/textbook/content \
    TEXTBOOK_TEMPLATES_DIR=/srv/textbook/templates \
    TEXTBOOK_STATIC_DIR=/srv/textbook/static
USER textbook
VOLUME ["/var/lib/textbook"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["textbook", "serve"]
