# The textbook's image. Build it with `./dev image` (see README, "Containers"): that script
# makes the Python wheels (build/wheelhouse/) and the front-end assets (static/vendor/) on
# the host first, so this build needs no network for PyPI or npm and no certificates.

# Stage 1: a virtual environment from the host-built wheelhouse.
FROM debian:bookworm-slim AS build
# Debian's stable release is the pin: its packages change only for security fixes (DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY build/wheelhouse /wheels
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels textbook \
 && /opt/venv/bin/pip uninstall --yes pip setuptools \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && find /opt/venv -name 'tests' -path '*site-packages/*/tests' -prune -exec rm -rf {} +

# Stage 2: the runtime: Debian's Python 3.11, the venv and the site's files; no compilers, no pip.
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="textbook" \
      org.opencontainers.image.description="AI // Encyclopedia: an interactive machine-learning textbook"
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libseccomp2 \
 && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
 && useradd --system --uid 10001 --home-dir /srv/textbook --shell /usr/sbin/nologin textbook \
 && mkdir -p /var/lib/textbook \
 && chown textbook /var/lib/textbook
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/textbook
COPY content ./content
COPY templates ./templates
COPY static ./static
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TEXTBOOK_HOST=0.0.0.0 \
    TEXTBOOK_PORT=8000 \
    TEXTBOOK_DATA_DIR=/var/lib/textbook \
    TEXTBOOK_CONTENT_DIR=/srv/textbook/content \
    TEXTBOOK_TEMPLATES_DIR=/srv/textbook/templates \
    TEXTBOOK_STATIC_DIR=/srv/textbook/static \
    MPLCONFIGDIR=/tmp/matplotlib
USER 10001
VOLUME ["/var/lib/textbook"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import os, sys, urllib.request; port = os.environ.get('TEXTBOOK_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
CMD ["textbook", "serve"]
