#!/usr/bin/env bash
# Builds the container image (textbook:latest and textbook:VERSION) without network access
# during `docker build`: the Python wheels and the front-end assets are made on the host first.
#
#   deploy/image.sh            build the image
#   deploy/image.sh engine     only make sure a Docker engine answers (start dockerd if we may;
#                              prints "started" when it did)
#   deploy/image.sh stop-engine  stop the dockerd that `engine` started, if it did
#   deploy/image.sh base       only make sure debian:bookworm-slim exists locally
#   deploy/image.sh seccomp    write build/seccomp-sandbox.json (the profile `docker run` needs)
#
# Environment: TEXTBOOK_IMAGE (default textbook), DEBIAN_MIRROR (default: the host's apt mirror).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${TEXTBOOK_IMAGE:-textbook}
BASE=debian:bookworm-slim
WHEELHOUSE=build/wheelhouse
DIST=build/dist
DOCKERD_LOG=${DOCKERD_LOG:-/tmp/textbook-dockerd.log}
DOCKERD_PIDFILE=/tmp/textbook-dockerd.pid

say() { echo "image: $*" >&2; }

engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

# A Docker engine: the running one, or dockerd started in the background (root only).
ensure_engine() {
    if ! command -v docker >/dev/null; then
        say "no docker client; on Debian: apt-get install docker.io"
        return 1
    fi
    engine_answers && return 0
    if pgrep -x dockerd >/dev/null; then  # running but slow to answer (a busy host): never start a second
        say "dockerd is running but does not answer yet; waiting for it"
        for _ in $(seq 60); do engine_answers && return 0; sleep 1; done
        say "the running dockerd did not answer within 60 s; see $DOCKERD_LOG"
        return 1
    fi
    if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null; then
        say "no Docker engine answers and dockerd cannot be started here (needs root and docker.io)"
        return 1
    fi
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    nohup dockerd >"$DOCKERD_LOG" 2>&1 &
    echo $! >"$DOCKERD_PIDFILE"
    ENGINE_STARTED=1
    for _ in $(seq 60); do
        engine_answers && return 0
        sleep 1
    done
    say "dockerd did not answer within 60 s; see $DOCKERD_LOG"
    return 1
}

# Stop the dockerd that ensure_engine started (and only that one).
stop_engine() {
    [ -f "$DOCKERD_PIDFILE" ] || return 0
    local pid
    pid=$(cat "$DOCKERD_PIDFILE")
    rm -f "$DOCKERD_PIDFILE"
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
}

# The host's Debian mirror, read from its apt sources (no host name is written here).
host_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local line
    line=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v -- '-security' | head -1 | awk '{print $2}')
    if [ -z "$line" ]; then
        line=$(grep -hs '^deb ' /etc/apt/sources.list | grep -v -- '-security' | head -1 | awk '{print $2}')
    fi
    echo "$line"
}

# debian:bookworm-slim from the registry when it can be pulled, else made with debootstrap.
ensure_base() {
    if docker image inspect "$BASE" >/dev/null 2>&1; then return 0; fi
    if timeout 60 docker pull -q "$BASE" >/dev/null 2>&1; then return 0; fi
    say "$BASE cannot be pulled; making it with debootstrap from Debian's packages"
    if ! command -v debootstrap >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    local mirror root
    mirror=$(host_mirror)
    root=$(mktemp -d /tmp/textbook-base.XXXXXX)
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
        say "debootstrap failed; see $root.log"; return 1; }
    # The slimming the official -slim image does: no package archives or lists, and dpkg
    # told to leave out documentation, manuals and translations (now and in later installs).
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
SLIM
    find "$root"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
    find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/*
    tar -C "$root" -c . | docker import - "$BASE" >/dev/null
    rm -rf "$root" "$root.log"
}

# Wheels for every dependency (build/wheelhouse/) and the textbook's own (build/dist/), for the
# same CPython 3.11 / glibc as bookworm's. The textbook's wheel carries content/, templates/
# and static/ with static/vendor/ (build_site.py), so the image needs nothing else of the checkout.
# Each is rebuilt only when what it is made of changes (a content hash, so a checkout or rebase
# that touches files without changing them costs nothing).
tree_hash() {
    find "$@" -type f -not -path '*/__pycache__/*' -not -name '*.pyc' -not -name .installed -print0 \
        | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-12
}
build_wheels() {
    local py=.venv/bin/python stamp
    [ -f static/vendor/.installed ] || { say "static/vendor/ is missing (./dev image fetches it with npm first)"; return 1; }
    stamp="$WHEELHOUSE/.built-$(tree_hash pyproject.toml)"
    if [ ! -f "$stamp" ]; then
        rm -rf "$WHEELHOUSE" build/lib ./*.egg-info
        mkdir -p "$WHEELHOUSE"
        "$py" -m pip wheel --quiet --wheel-dir "$WHEELHOUSE" .
        rm -f "$WHEELHOUSE"/textbook-*.whl
        touch "$stamp"
    fi
    stamp="$DIST/.built-$(tree_hash pyproject.toml build_site.py MANIFEST.in app content templates static)"
    if [ ! -f "$stamp" ]; then
        rm -rf "$DIST" build/lib ./*.egg-info
        mkdir -p "$DIST"
        "$py" -m pip wheel --quiet --no-deps --wheel-dir "$DIST" .
        touch "$stamp"
    fi
    rm -rf build/lib build/bdist.* ./*.egg-info
}

# Docker's default seccomp profile (from Debian's package of Docker's source, which ships it
# as profiles/seccomp/default.json) plus the calls the snippet sandbox needs: see
# deploy/sandbox_seccomp.py and README, "Running the container image".
SECCOMP_OUT=build/seccomp-sandbox.json
DOCKER_SRC_PKG=golang-github-docker-docker-dev
DEFAULT_PROFILE=usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
write_seccomp_profile() {
    if [ -f "$SECCOMP_OUT" ] && [ "$SECCOMP_OUT" -nt deploy/sandbox_seccomp.py ]; then return 0; fi
    local default="/$DEFAULT_PROFILE" tmp
    if [ ! -f "$default" ]; then
        tmp=$(mktemp -d /tmp/textbook-seccomp.XXXXXX)
        (cd "$tmp" && apt-get download -qq "$DOCKER_SRC_PKG" >/dev/null 2>&1) || {
            say "cannot download $DOCKER_SRC_PKG (Docker's default seccomp profile)"; rm -rf "$tmp"; return 1; }
        dpkg-deb -x "$tmp"/*.deb "$tmp/root"
        default="$tmp/root/$DEFAULT_PROFILE"
    fi
    mkdir -p build
    python3 deploy/sandbox_seccomp.py "$default" "$SECCOMP_OUT"
    [ -z "${tmp:-}" ] || rm -rf "$tmp"
}

build_image() {
    local version
    version=$(.venv/bin/python -c 'import app; print(app.__version__)')
    say "building $IMAGE:latest and $IMAGE:$version"
    DOCKER_BUILDKIT=0 docker build --network host --quiet -t "$IMAGE:latest" -t "$IMAGE:$version" . >/dev/null
    docker image prune --force --filter "label=org.opencontainers.image.title=textbook" --filter dangling=true >/dev/null || true
    docker image inspect "$IMAGE:latest" --format "image: $IMAGE:latest $IMAGE:$version {{.Size}} bytes" >&2
}

case "${1:-build}" in
    engine) ensure_engine && if [ -n "${ENGINE_STARTED:-}" ]; then echo started; fi ;;
    stop-engine) stop_engine ;;
    base) ensure_engine && ensure_base ;;
    seccomp) write_seccomp_profile ;;
    build) ensure_engine && ensure_base && build_wheels && build_image && write_seccomp_profile ;;
    *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
