#!/usr/bin/env bash
# Screenshots of the Live, Timeline, Label and Teach panels under a virtual X server (Xvfb).
#
#   installers/screenshot.sh --source PATH|demo --data-dir DIR [--out DIR] [--size 1280x720]
#                            [--bundle DIR | --fake-model] [--seed-history]
#                            [--seed-clips VIDEO] [--fake-train] [--install]
#
# Needs Debian's xvfb, libxcb-icccm4, libxcb-keysyms1 (and imagemagick for the X-level
# cross-check); --install apt-gets whatever is missing. Writes <out>/live.png,
# <out>/timeline.png (QScreen grabs) and <out>/live-x11.png (`import -window root`); with
# --seed-clips/--fake-train also <out>/labeling.png, finetune.png, finetune-result.png.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
SIZE=1280x720
INSTALL=0
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; ARGS+=("$1" "$2"); shift 2 ;;
    --install) INSTALL=1; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done

DEBS=(xvfb libxcb-icccm4 libxcb-keysyms1 imagemagick)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$INSTALL" -eq 1 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "screenshot: missing Debian packages: ${missing[*]} (rerun with --install)" >&2
    exit 2
  fi
fi

# Pick a free display number and start Xvfb at the requested size.
DISP=99
while [ -e "/tmp/.X${DISP}-lock" ]; do DISP=$((DISP + 1)); done
Xvfb ":${DISP}" -screen 0 "${SIZE}x24" -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
trap 'kill "$XVFB_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${DISP}" ] && break; sleep 0.1; done

env -u QT_QPA_PLATFORM -u WAYLAND_DISPLAY DISPLAY=":${DISP}" \
  "$PY" installers/screenshot.py "${ARGS[@]}"
