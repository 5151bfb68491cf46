#!/usr/bin/env bash
# Package the promoter task as an Azure DevOps extension (.vsix):
#   bash package.sh [OUT_DIR]      (default: dist/ beside this script)
# 1. stages vss-extension.json, README.md and promoter-task/ in a temporary folder;
# 2. installs the task's production node_modules there (npm ci --omit=dev, from package-lock.json);
# 3. builds the promoter wheel into promoter-task/wheel (pip wheel REPO --no-deps);
# 4. runs tfx extension create (tfx-cli, a devDependency: npm ci here first).
# Environment: PYTHON (default python3), PROMOTER_REPO (default: the repository root),
# TFX_PUBLISHER (overrides the manifest's publisher), PROMOTER_WHEEL (bundle this wheel
# instead of building one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="${PROMOTER_REPO:-$(cd "$here/../.." && pwd)}"
out="${1:-$here/dist}"
python="${PYTHON:-python3}"
tfx="$here/node_modules/.bin/tfx"

if [ ! -x "$tfx" ]; then
  echo "package.sh: tfx-cli is missing: run 'npm ci' in $here first" >&2
  exit 2
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d "${TMPDIR:-/tmp}/promoter-task.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

cp "$here/vss-extension.json" "$here/README.md" "$stage/"
mkdir "$stage/promoter-task"
cp "$here/promoter-task/task.json" "$here/promoter-task/index.js" "$here/promoter-task/lib.js" \
  "$stage/promoter-task/"
[ -f "$here/promoter-task/icon.png" ] && cp "$here/promoter-task/icon.png" "$stage/promoter-task/"

echo "package.sh: production node_modules" >&2
cp "$here/package.json" "$here/package-lock.json" "$stage/promoter-task/"
(cd "$stage/promoter-task" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error >&2)
rm -f "$stage/promoter-task/package-lock.json"

echo "package.sh: promoter wheel from $repo" >&2
wheel_dir="$stage/promoter-task/wheel"
if [ -n "${PROMOTER_WHEEL:-}" ]; then  # a wheel built beforehand (CI builds it once)
  mkdir -p "$wheel_dir" && cp "$PROMOTER_WHEEL" "$wheel_dir/"
# Else first with the build tools already installed (no download); else pip's isolated build.
elif ! "$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
  -w "$wheel_dir" "$repo" >&2 2>/dev/null; then
  "$python" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$wheel_dir" "$repo" >&2
fi

publisher=()
[ -n "${TFX_PUBLISHER:-}" ] && publisher=(--publisher "$TFX_PUBLISHER")
echo "package.sh: tfx extension create" >&2
"$tfx" extension create --root "$stage" --manifest-globs vss-extension.json \
  --output-path "$out" "${publisher[@]}" --no-prompt --no-color >&2
ls "$out"/*.vsix
