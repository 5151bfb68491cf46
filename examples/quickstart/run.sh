#!/usr/bin/env bash
# The quickstart, end to end, on this machine (after scripts/bootstrap):
#
#   bash examples/quickstart/run.sh
#
# 1. starts three registries on free loopback ports (Debian's docker-registry):
#    one staging, two production;
# 2. copies the example to a scratch folder, makes it a git checkout whose HEAD
#    is tagged v1.0.0 (a release: the `when: tag` rule applies);
# 3. builds with kaniko when an executor image is in the local Docker engine,
#    else says so and pushes a prebuilt image (an OCI layout written by
#    prebuilt.py) to staging with `promoter copy`;
# 4. shows the plan, then checks and promotes to prod-a and prod-b, prints the
#    report, shows the re-run has nothing to do;
# 5. stops the registries it started and removes the scratch folder.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
if [ -x "$ROOT/.venv/bin/promoter" ]; then
  PROMOTER="$ROOT/.venv/bin/promoter"
  PY="$ROOT/.venv/bin/python"
else
  PROMOTER="$(command -v promoter || true)"
  PY="$(command -v python3)"
fi
[ -n "$PROMOTER" ] || { echo "quickstart: promoter is not installed (run scripts/bootstrap)" >&2; exit 2; }
REGISTRY_BIN="${REGISTRY_BIN:-$(command -v docker-registry || echo /usr/bin/docker-registry)}"
[ -x "$REGISTRY_BIN" ] || {
  echo "quickstart: Debian's docker-registry is needed (scripts/bootstrap installs it)" >&2
  exit 2
}
# The executor image promoter's build stage runs (PROMOTER_KANIKO_IMAGE: another one,
# e.g. a mirror of gcr.io/kaniko-project/executor; it is written into the scratch copy).
EXECUTOR="${PROMOTER_KANIKO_IMAGE:-$("$PY" -c 'from promoter.build import DEFAULT_EXECUTOR_IMAGE as i; print(i)')}"
SOURCE_URL="https://github.com/example/promoter-quickstart"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/promoter-quickstart.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() {
  if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_registry() { # NAME PORT
  local dir="$WORK/registries/$1"
  mkdir -p "$dir"
  cat >"$dir/config.yml" <<CONFIG
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $dir/storage}
  delete: {enabled: true}
http: {addr: "127.0.0.1:$2", secret: quickstart-only}
CONFIG
  "$REGISTRY_BIN" serve "$dir/config.yml" >"$dir/log" 2>&1 &
  PIDS+=("$!")
  "$PY" - "$2" <<'WAIT'
import sys, time, urllib.error, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/v2/"
for _ in range(100):
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(f"quickstart: the registry on {url} did not start")
WAIT
  echo "$1: 127.0.0.1:$2"
}

say "Starting three local registries"
STAGING_PORT="$(free_port)"; PROD_A_PORT="$(free_port)"; PROD_B_PORT="$(free_port)"
start_registry staging "$STAGING_PORT"
start_registry prod-a "$PROD_A_PORT"
start_registry prod-b "$PROD_B_PORT"

say "A release checkout: the example, tagged v1.0.0"
PROJECT="$WORK/quickstart"
mkdir -p "$PROJECT"
cp -R "$HERE/app" "$PROJECT/app"
sed -e "s/127\.0\.0\.1:5000/127.0.0.1:$STAGING_PORT/" \
    -e "s/127\.0\.0\.1:5001/127.0.0.1:$PROD_A_PORT/" \
    -e "s/127\.0\.0\.1:5002/127.0.0.1:$PROD_B_PORT/" \
    "$HERE/pipeline.yml" >"$PROJECT/pipeline.yml"
if [ -n "${PROMOTER_KANIKO_IMAGE:-}" ]; then
  "$PY" - "$PROJECT/pipeline.yml" "$PROMOTER_KANIKO_IMAGE" <<'EXECUTOR_IMAGE'
import sys
path, image = sys.argv[1], sys.argv[2]
text = open(path).read()
text = text.replace("      context: app\n", f"      context: app\n      executor:\n        image: {image}\n", 1)
open(path, "w").write(text)
EXECUTOR_IMAGE
fi
cd "$PROJECT"
git init -q -b main
git remote add origin "$SOURCE_URL.git"
git add -A
git -c user.name=quickstart -c user.email=quickstart@example.invalid commit -q -m "quickstart"
git tag v1.0.0
"$PROMOTER" validate -f pipeline.yml
"$PROMOTER" tags -f pipeline.yml

kaniko_here=no
if docker info >/dev/null 2>&1 && docker image inspect "$EXECUTOR" >/dev/null 2>&1; then
  kaniko_here=yes
fi

STAGES="build,push,check,promote"
if [ "$kaniko_here" = yes ]; then
  say "kaniko's executor image is here ($EXECUTOR): promoter builds and pushes to staging"
else
  say "No kaniko executor image in the local Docker engine ($EXECUTOR): using the prebuilt image"
  echo "(with the image present, this demo builds app/Dockerfile with kaniko instead)"
  "$PY" "$HERE/prebuilt.py" --app app --out "$WORK/prebuilt" --tag 1.0.0 \
    --revision "$(git rev-parse HEAD)" --source "$SOURCE_URL" >/dev/null
  "$PROMOTER" copy "oci:$WORK/prebuilt:1.0.0" "127.0.0.1:$STAGING_PORT/hello:1.0.0"
  STAGES="check,promote"
fi

say "The plan (a dry run: reads the registries, writes nothing)"
"$PROMOTER" plan -f pipeline.yml  # before a build, it says the digest is still unknown

say "Run: $STAGES"
status=0
"$PROMOTER" run -f pipeline.yml --stage "$STAGES" || status=$?

say "Run again: nothing to do"
"$PROMOTER" run -f pipeline.yml --stage check,promote || status=$?

if command -v skopeo >/dev/null 2>&1; then
  say "What an outside reader sees (skopeo)"
  for port in "$PROD_A_PORT" "$PROD_B_PORT"; do
    printf '127.0.0.1:%s/hello:1.0.0 -> ' "$port"
    skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$port/hello:1.0.0"
  done
fi

say "Stopping the registries"
exit "$status"
