#!/usr/bin/env bash
# demo.sh - bosun on examples/quickstart, as a real GitOps loop on this machine.
#
#   scripts/demo.sh         start (or restart) the demo; Ctrl-C stops bosun cleanly
#   scripts/demo.sh clean   remove the demo's containers, networks and folder
#
# It makes a bare Git repository (the "remote") from examples/quickstart and a
# clone of it that you edit; a push runs the remote's post-receive hook, which
# sends bosun a signed webhook, so a push is applied within a second or two.
# bosun also polls the remote every 15 s. Everything lives under .demo/ and
# listens on loopback only. Run again: your clone and its history are kept.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.venv/bin
DEMO=${BOSUN_DEMO_DIR:-$ROOT/.demo}
EXAMPLE=$ROOT/examples/quickstart
REMOTE=$DEMO/remote.git
CLONE=$DEMO/quickstart
STATE=$DEMO/state
LISTEN_HOST=127.0.0.1
OWNER=quickstart

log() { printf 'demo: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

git_() { git -c user.name="bosun demo" -c user.email=demo@bosun.invalid "$@"; }

clean() {
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        local ids
        ids=$(docker ps -aq --filter "label=bosun.owner=$OWNER")
        [[ -z $ids ]] || docker rm -f $ids >/dev/null
        ids=$(docker network ls -q --filter "label=bosun.owner=$OWNER")
        [[ -z $ids ]] || docker network rm $ids >/dev/null
    fi
    rm -rf "$DEMO"
    log "removed the demo's containers, networks and $DEMO"
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

make_repositories() {
    [[ -d $EXAMPLE ]] || die "$EXAMPLE is missing"
    if [[ ! -d $REMOTE ]]; then
        git init -q --bare --initial-branch=main "$REMOTE"
        local seed=$DEMO/seed
        rm -rf "$seed"
        cp -r "$EXAMPLE" "$seed"
        git -C "$seed" init -q --initial-branch=main
        git -C "$seed" add -A
        git_ -C "$seed" commit -q -m "quickstart: one web stack behind bosun's Caddy"
        git -C "$seed" push -q "$REMOTE" main
        rm -rf "$seed"
        log "created the remote $REMOTE from examples/quickstart"
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

    local web_port
    web_port=$(sed -n 's/^ *WEB_PORT: *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' \
        "$CLONE/stacks/web/stack.yaml" | head -n1)
    cat <<EOF

  bosun demo: GitOps on this machine, nothing leaves loopback.

  Your repository   $CLONE
  Its remote        $REMOTE   (a push sends bosun a signed webhook)
  bosun listens on  http://$LISTEN_HOST:$port   (webhooks: /hooks/generic, /hooks/github, ...)
  The web stack     http://127.0.0.1:${web_port:-18081}/
  Through Caddy     http://quickstart.localhost:8880/   (when the gateway provider is installed)

  Change something and push:
    cd $CLONE
    sed -i 's/Hello from bosun/Hello again/' stacks/web/stack.yaml
    git commit -am "a new greeting" && git push
    curl -s http://127.0.0.1:${web_port:-18081}/

  Look:   $BIN/bosun status --state-dir $STATE
  Stop:   Ctrl-C (bosun lets changes in flight finish). Containers keep running;
          'scripts/demo.sh clean' removes them.

EOF
    cd "$DEMO"
    exec "$BIN/bosun" serve --repo "$REMOTE" --branch main --state-dir "$STATE" \
        --listen "$LISTEN_HOST:$port" --interval 15s \
        --webhook-secret-file "$DEMO/webhook-secret" "$@"
}

case "${1:-}" in
    clean) clean ;;
    ""|--*) main "$@" ;;
    *) die "usage: $0 [clean] [bosun serve options...]" ;;
esac
