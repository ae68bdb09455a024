#!/usr/bin/env bash
# demo.sh - bosun on examples/quickstart, as a real GitOps loop on this machine.
#
#   scripts/demo.sh         start (or restart) the demo; Ctrl-C stops bosun and its Caddy
#   scripts/demo.sh clean   stop its Caddy, remove its containers, networks and folder
#
# It makes a bare Git repository (the "remote") from examples/quickstart and a
# clone of it that you edit; a push runs the remote's post-receive hook, which
# sends bosun a signed webhook, so a push is applied within a second or two.
# bosun also polls the remote every 15 s. Everything lives under .demo/ and
# listens on loopback only; a default port that is taken is replaced by a free
# one when the remote is made. Run again: your clone and its history are kept.
# Ctrl-C stops bosun (changes in flight finish), then the Caddy it started
# ('bosun gateway stop'; serve alone leaves it serving); the deployed
# containers keep running until 'clean'.
#
# BOSUN_DEMO_DIR (default .demo), BOSUN_DEMO_PORT (bosun's port, default 8787)
# and BOSUN_DEMO_EXAMPLE (the repository to start from) are for tests.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.venv/bin
DEMO=${BOSUN_DEMO_DIR:-$ROOT/.demo}
EXAMPLE=${BOSUN_DEMO_EXAMPLE:-$ROOT/examples/quickstart}
REMOTE=$DEMO/remote.git
CLONE=$DEMO/quickstart
STATE=$DEMO/state
LISTEN_HOST=127.0.0.1
SERVE_PID=
STOP_ASKED=

log() { printf 'demo: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

git_() { git -c user.name="bosun demo" -c user.email=demo@bosun.invalid "$@"; }

# The owner id of the demo's repository: what its containers are labelled with.
demo_owner() {
    if [[ -s $DEMO/owner ]]; then
        cat "$DEMO/owner"
    else
        sed -n 's/^ *owner: *"\{0,1\}\([A-Za-z0-9._-]*\)"\{0,1\}.*/\1/p' "$EXAMPLE/bosun.yaml" |
            head -n1
    fi
}

# bosun serve leaves its Caddy serving when it stops (like the containers); the
# demo stops it after serve, to free its ports.
stop_caddy() {
    [[ -d $STATE/caddy ]] || return 0
    if [[ -x $BIN/bosun ]]; then
        log "$("$BIN/bosun" gateway stop "$DEMO" --state-dir "$STATE" 2>&1 || true)"
    elif [[ -s $STATE/caddy/caddy.pid ]]; then
        kill "$(cat "$STATE/caddy/caddy.pid")" 2>/dev/null || true
    fi
}

# A bosun serve of this demo still running (another terminal): asked to stop first.
stop_leftover_serve() {
    local pid
    pid=$(cat "$DEMO/serve.pid" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
        grep -q -- "serve .*--state-dir $STATE " || return 0
    log "stopping the demo's bosun (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

clean() {
    local owner
    owner=$(demo_owner)
    stop_leftover_serve
    stop_caddy
    if [[ -n $owner ]] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        local ids
        ids=$(docker ps -aq --filter "label=bosun.owner=$owner")
        [[ -z $ids ]] || docker rm -f $ids >/dev/null
        ids=$(docker network ls -q --filter "label=bosun.owner=$owner")
        [[ -z $ids ]] || docker network rm $ids >/dev/null
        ids=$(docker volume ls -q --filter "label=bosun.owner=$owner")
        [[ -z $ids ]] || docker volume rm $ids >/dev/null
    fi
    rm -rf "$DEMO"
    log "removed the demo's containers, networks, volumes (owner ${owner:-?}) and $DEMO"
}

free_port() {
    "$BIN/python" - "$1" <<'EOF'
import socket, sys
want = int(sys.argv[1])
for port in (want, 0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
EOF
}

# Ports the example publishes (file, port): a taken one is replaced by a free one.
EXAMPLE_PORTS="stacks/web/stack.yaml 18081
gateway.yaml 8880
gateway.yaml 8443"

choose_ports() {
    local seed=$1 file port free
    while read -r file port; do
        [[ -f $seed/$file ]] && grep -q "\b$port\b" "$seed/$file" || continue
        free=$(free_port "$port")
        if [[ $free != "$port" ]]; then
            sed -i "s/\b$port\b/$free/" "$seed/$file"
            log "port $port is taken: the demo uses $free instead ($file)"
        fi
    done <<<"$EXAMPLE_PORTS"
}

make_repositories() {
    [[ -d $EXAMPLE ]] || die "$EXAMPLE is missing"
    if [[ ! -d $REMOTE ]]; then
        git init -q --bare --initial-branch=main "$REMOTE"
        local seed=$DEMO/seed
        rm -rf "$seed"
        cp -r "$EXAMPLE" "$seed"
        choose_ports "$seed"
        demo_owner >"$DEMO/owner"
        git -C "$seed" init -q --initial-branch=main
        git -C "$seed" add -A
        git_ -C "$seed" commit -q -m "quickstart: one web stack behind bosun's Caddy"
        git -C "$seed" push -q "$REMOTE" main
        rm -rf "$seed"
        log "created the remote $REMOTE from ${EXAMPLE#"$ROOT"/}"
    fi
    if [[ ! -d $CLONE/.git ]]; then
        git clone -q "$REMOTE" "$CLONE"
        log "cloned it to $CLONE (edit here)"
    fi
}

install_hook() {
    # The remote tells bosun about every push, signed like a CI job would.
    cat >"$DEMO/notify.py" <<'PY'
"""Written by scripts/demo.sh: post-receive -> a signed webhook to bosun."""
import hashlib, hmac, json, sys, urllib.request

secret = open(sys.argv[1], "rb").read().strip()
url = "http://" + open(sys.argv[2]).read().strip() + "/hooks/generic"
for line in sys.stdin:
    before, after, ref = line.split()
    body = json.dumps({"ref": ref, "after": after}).encode()
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"X-Bosun-Signature-256": sig,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as answer:
            print("bosun:", json.load(answer).get("result"), ref, after[:7])
    except Exception as exc:  # bosun is not running: its next poll applies the push
        print("bosun: webhook not delivered (%s); the next poll applies it" % exc)
PY
    # The hook's stdin (one line per updated ref) goes on to notify.py.
    cat >"$REMOTE/hooks/post-receive" <<EOF
#!/bin/sh
# Written by scripts/demo.sh: send bosun a signed webhook for each push.
exec "$BIN/python" "$DEMO/notify.py" "$DEMO/webhook-secret" "$DEMO/listen"
EOF
    chmod +x "$REMOTE/hooks/post-receive"
}

main() {
    [[ -x $BIN/bosun ]] || die "run 'make venv' first (or use 'make demo')"
    mkdir -p "$DEMO"
    make_repositories
    if [[ ! -s $DEMO/webhook-secret ]]; then
        "$BIN/python" -c 'import secrets; print(secrets.token_hex(24))' >"$DEMO/webhook-secret"
        chmod 600 "$DEMO/webhook-secret"
    fi
    local port
    port=$(free_port "${BOSUN_DEMO_PORT:-8787}")
    echo "$LISTEN_HOST:$port" >"$DEMO/listen"
    install_hook

    local web_port https_port
    web_port=$(sed -n 's/^ *WEB_PORT: *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' \
        "$CLONE/stacks/web/stack.yaml" | head -n1)
    https_port=$(sed -n 's/^ *https: *"[^"]*:\([0-9]*\)".*/\1/p' "$CLONE/gateway.yaml" |
        head -n1)
    cat <<EOF

  bosun demo: GitOps on this machine, nothing leaves loopback.

  Your repository   $CLONE
  Its remote        $REMOTE   (a push sends bosun a signed webhook)
  bosun listens on  http://$LISTEN_HOST:$port   (webhooks: /hooks/generic, /hooks/github, ...)
  The web stack     http://127.0.0.1:${web_port:-18081}/
  Through Caddy     https://quickstart.localhost:${https_port:-8443}/   (bosun's own Caddy, its local CA)

  Change something and push:
    cd $CLONE
    sed -i 's/Hello from bosun/Hello again/' stacks/web/stack.yaml
    git commit -am "a new greeting" && git push
    curl -s http://127.0.0.1:${web_port:-18081}/
    curl -s --cacert $STATE/caddy/data/caddy/pki/authorities/local/root.crt \\
        https://quickstart.localhost:${https_port:-8443}/

  Look:   $BIN/bosun status --state-dir $STATE
  Stop:   Ctrl-C stops bosun (changes in flight finish) and its Caddy. The
          containers keep running; 'scripts/demo.sh clean' removes them.

EOF
    cd "$DEMO"
    # bosun runs in a session of its own: a Ctrl-C reaches this script only,
    # which asks bosun to stop once (a second signal makes bosun exit at once),
    # waits for it, then stops the Caddy it started.
    trap stop_serve INT TERM HUP
    "$BIN/python" -c 'import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])' \
        "$BIN/bosun" serve --repo "$REMOTE" --branch main --state-dir "$STATE" \
        --listen "$LISTEN_HOST:$port" --interval 15s \
        --webhook-secret-file "$DEMO/webhook-secret" "$@" &
    SERVE_PID=$!
    echo "$SERVE_PID" >"$DEMO/serve.pid"
    [[ -z $STOP_ASKED ]] || kill -TERM "$SERVE_PID" 2>/dev/null || true
    while kill -0 "$SERVE_PID" 2>/dev/null; do
        wait "$SERVE_PID" || true  # returns early when a trapped signal comes
    done
    local status=0
    wait "$SERVE_PID" || status=$?
    trap - INT TERM HUP
    rm -f "$DEMO/serve.pid"
    stop_caddy
    log "bosun exited with status $status; the web stack keeps running at" \
        "http://127.0.0.1:${web_port:-18081}/ ('scripts/demo.sh clean' removes it)"
    exit "$status"
}

stop_serve() {
    STOP_ASKED=1
    if [[ -n $SERVE_PID ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
        log "stopping bosun (changes in flight finish; Ctrl-C again to stop at once)"
        kill -TERM "$SERVE_PID" 2>/dev/null || true
    fi
}

case "${1:-}" in
    clean) clean ;;
    ""|--*) main "$@" ;;
    *) die "usage: $0 [clean] [bosun serve options...]" ;;
esac
