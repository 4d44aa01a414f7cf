# The textbook's image. Build it with `./dev image` (see README, "Containers"): that script
# makes the front-end assets (static/vendor/, by ./dev), the dependencies' wheels
# (build/wheelhouse/) and the textbook's wheel (build/dist/) on the host first, so this build
# needs no network for PyPI or npm and no certificates.

# Stage 1: a virtual environment from the host-built wheels: the dependencies first (a layer
# that changes only with pyproject.toml), then the textbook's own wheel, which carries the
# chapters, templates and static files with htmx and Swagger UI (see build_site.py).
FROM debian:bookworm-slim AS build
# Debian's stable release is the pin: its packages change only for security fixes (DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv binutils \
 && rm -rf /var/lib/apt/lists/*
COPY build/wheelhouse /wheels
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-index /wheels/*.whl
COPY build/dist /dist
# Then slimmed: no pip, no bytecode caches, no test suites of the dependencies, and no debug
# information in the extension modules (66 MB of the wheels' 80: uvloop, zstandard, brotli,
# kiwisolver, fontTools, ...). A file that auditwheel rewrote with patchelf (it has an RPATH)
# is left as it is: strip can damage such files. The import check fails the build if any
# extension module no longer loads.
RUN /opt/venv/bin/pip install --no-cache-dir --no-index --no-deps /dist/*.whl \
 && /opt/venv/bin/pip uninstall --yes pip setuptools \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && find /opt/venv -name 'tests' -path '*site-packages/*/tests' -prune -exec rm -rf {} + \
 && find /opt/venv -name '*.so' -type f -exec sh -c \
      'for f; do readelf -d "$f" | grep -q "R.*PATH" || strip --strip-debug "$f"; done' sh {} + \
 && /opt/venv/bin/python -c "import numpy, matplotlib.pyplot, PIL._imaging, kiwisolver, uvloop, httptools, zstandard, brotli, yaml, sqlalchemy, psycopg, pydantic_core, fontTools.misc.bezierTools" \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

# Stage 2: the runtime: Debian's Python 3.11 and the venv (the site's files are in it); no compilers, no pip.
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="textbook" \
      org.opencontainers.image.description="AI // Encyclopedia: an interactive machine-learning textbook"
# apt-get clean and the *.bin caches: the downloaded packages and apt's package caches (85 MB)
# are not part of the image (the official -slim image's apt configuration does the same).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libseccomp2 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
 && useradd --system --uid 10001 --home-dir /srv/textbook --shell /usr/sbin/nologin textbook \
 && mkdir -p /var/lib/textbook \
 && chown textbook /var/lib/textbook
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/textbook
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TEXTBOOK_HOST=0.0.0.0 \
    TEXTBOOK_PORT=8000 \
    TEXTBOOK_DATA_DIR=/var/lib/textbook \
    MPLCONFIGDIR=/tmp/matplotlib
USER 10001
VOLUME ["/var/lib/textbook"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import os, sys, urllib.request; port = os.environ.get('TEXTBOOK_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
CMD ["textbook", "serve"]
