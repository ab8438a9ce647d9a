#!/usr/bin/env bash
# Build PurrSight for the machine this runs on: a PyInstaller one-folder bundle in
# dist/purrsight/ and a Debian package dist/purrsight_<version>_<arch>.deb.
#
#   installers/build.sh [--no-deb] [--smoke] [--bundle DIR | --no-bundle] [--require-model]
#                       [--which-model]
#
# PyInstaller is not a cross-compiler: run this on amd64 for amd64 and on the Raspberry Pi 5
# (arm64, Raspberry Pi OS bookworm) for arm64. Nothing below names an architecture.
# The model shipped as the default (installers/model_bundle.py): --bundle DIR, else
# $PURRSIGHT_BUNDLE_DIR, else resources/models/default/bundle (written by set-up's
# `purrsight-model assemble-default`); without one the build goes on with a warning and the
# app says "model not available"; --require-model makes that an error (CI, once the default
# model is built). --which-model prints the choice and stops. Other inputs (optional): PURRSIGHT_DEMO_SRC = demo media
# folder (else resources/demo); PYTHON = interpreter for the build venv (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
VENV=installers/.build-venv
DIST=dist
WORK=build/installer
MAKE_DEB=1
SMOKE=0
BUNDLE_ARG=""
WHICH_MODEL=0
REQUIRE_MODEL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-deb) MAKE_DEB=0 ;;
    --smoke) SMOKE=1 ;;
    --bundle) [ $# -ge 2 ] || { echo "build.sh: --bundle needs a folder" >&2; exit 2; }
              BUNDLE_ARG=$2; shift ;;
    --bundle=*) BUNDLE_ARG=${1#--bundle=} ;;
    --no-bundle) BUNDLE_ARG=none ;;
    --which-model) WHICH_MODEL=1 ;;
    --require-model) REQUIRE_MODEL=1 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

step_start=$SECONDS
step_name=""
step() {  # close the previous step (with its duration) and announce the next
  [ -z "$step_name" ] || echo "build.sh: $step_name took $((SECONDS - step_start)) s"
  echo "build.sh: == $*"
  step_name=$1
  step_start=$SECONDS
}

pyproject() {  # pyproject() EXPR: evaluate EXPR on the parsed [project] table
  "$PY" -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print($1)"
}
VERSION=$(pyproject 'p["version"]')
TORCH=$(pyproject 'next(r for r in p["optional-dependencies"]["train"] if r.startswith("torch"))')
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
echo "build.sh: purrsight $VERSION for $ARCH ($(uname -m)), $(nproc) cores"

# 1. The model to ship (installers/model_bundle.py), chosen before anything slow so that a
#    wrong --bundle fails at once; handed to the spec as PURRSIGHT_BUNDLE_DIR.
step "model bundle"
MODEL=$("$PY" installers/model_bundle.py ${BUNDLE_ARG:+--bundle "$BUNDLE_ARG"})
"$PY" installers/model_bundle.py ${BUNDLE_ARG:+--bundle "$BUNDLE_ARG"} --json \
  | sed 's/^/build.sh: model: /'
NO_MODEL_WARNING="build.sh: WARNING building WITHOUT a model bundle: the app will run but say \
'model not available' (no overlays, no reports). Ship one with --bundle DIR."
if [ -n "$MODEL" ]; then
  export PURRSIGHT_BUNDLE_DIR="$MODEL"
elif [ "$REQUIRE_MODEL" -eq 1 ]; then
  echo "build.sh: no model bundle and --require-model: run \`make setup\` (it assembles" \
    "resources/models/default/bundle) or pass --bundle DIR" >&2
  exit 1
else
  echo "$NO_MODEL_WARNING" >&2
  export PURRSIGHT_BUNDLE_DIR=none
fi
if [ "$WHICH_MODEL" -eq 1 ]; then
  echo "PURRSIGHT_BUNDLE_DIR=$PURRSIGHT_BUNDLE_DIR"
  exit 0
fi

# 2. A runtime-only venv: the project's dependencies without extras, plus PyInstaller.
#    Re-installed only when pyproject.toml or the build requirements change.
step "build venv $VENV"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
want=$(cat pyproject.toml installers/build-requirements.txt | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.purrsight-build" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -qq --upgrade pip wheel setuptools
  "$VENV/bin/python" -m pip install -qq -r installers/build-requirements.txt .
  echo "$want" > "$VENV/.purrsight-build"
fi
# Always refresh the project's own code from a fresh wheel (also shipped for training).
rm -rf "$WORK/wheel"
"$VENV/bin/python" -m pip wheel -qq --no-deps -w "$WORK/wheel" .
WHEEL=$(ls "$WORK"/wheel/purrsight-"$VERSION"-*.whl)
"$VENV/bin/python" -m pip install -qq --no-deps --force-reinstall "$WHEEL"
if "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("torch") else 1)'; then
  echo "build.sh: torch is installed in $VENV; the bundle must not contain it (rm -rf $VENV)" >&2
  exit 1
fi

# 3. Verify the model with the runtime the app uses: every file's sha256 against its manifest,
#    the schema version, the roles (a corrupt bundle fails the build, not the owner's app).
if [ -n "$MODEL" ]; then
  step "verify model"
  "$VENV/bin/python" - "$MODEL" <<'PY'
import sys
from purrsight_model.runtime.bundle import BundleError, load_bundle
try:
    load_bundle(sys.argv[1])
except BundleError as exc:
    sys.exit(f"build.sh: model bundle rejected: {exc}")
print(f"build.sh: model verified (hashes, schema, roles): {sys.argv[1]}")
PY
fi

# 4. PyInstaller one-folder bundle -> dist/purrsight/
step "pyinstaller"
rm -rf "$DIST/purrsight"
PURRSIGHT_SPEC_WORK="$ROOT/$WORK/spec" "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$DIST" --workpath "$WORK/pyinstaller" installers/purrsight.spec
step "slim (duplicate vendored libraries) + strip"
"$PY" installers/slim_bundle.py "$DIST/purrsight"
"$PY" installers/strip_bundle.py "$DIST/purrsight"
BUNDLE_MB=$(du -sm "$DIST/purrsight" | cut -f1)
MODEL_DIR="$DIST/purrsight/_internal/resources/models/default/bundle"
MODEL_MB=0
[ -d "$MODEL_DIR" ] && MODEL_MB=$(du -sm "$MODEL_DIR" | cut -f1)
echo "build.sh: bundle $DIST/purrsight: ${BUNDLE_MB} MB (model ${MODEL_MB} MB," \
  "app without the model $((BUNDLE_MB - MODEL_MB)) MB)"

if [ "$SMOKE" -eq 1 ]; then
  step "smoke test"
  "$VENV/bin/python" installers/smoke_test.py --binary "$DIST/purrsight/purrsight"
fi
if [ "$MAKE_DEB" -eq 0 ]; then
  step "done (no .deb), ${SECONDS} s in all"
  [ -n "$MODEL" ] || echo "$NO_MODEL_WARNING" >&2
  exit 0
fi

# 5. Stage the Debian package tree.
step "stage .deb"
STAGE="$WORK/deb/purrsight_${VERSION}_${ARCH}"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/purrsight/wheels" "$STAGE/usr/share/doc/purrsight" \
  "$STAGE/usr/share/icons/hicolor/scalable/apps"
cp -a "$DIST/purrsight" "$STAGE/opt/purrsight"
install -m 0755 installers/deb/purrsight.sh "$STAGE/usr/bin/purrsight"
install -m 0644 installers/deb/purrsight.desktop "$STAGE/usr/share/applications/"
install -m 0644 installers/deb/purrsight-kiosk.desktop "$STAGE/usr/share/purrsight/"
install -m 0644 "$WHEEL" "$STAGE/usr/share/purrsight/wheels/"
sed -e "s/@VERSION@/$VERSION/" -e "s/@TORCH@/$TORCH/" installers/deb/purrsight-enable-training \
  > "$STAGE/usr/bin/purrsight-enable-training"
chmod 0755 "$STAGE/usr/bin/purrsight-enable-training"
install -m 0644 installers/deb/copyright "$STAGE/usr/share/doc/purrsight/copyright"
install -m 0644 installers/README.md "$STAGE/usr/share/doc/purrsight/README.md"
[ -f resources/demo/ATTRIBUTION.md ] && \
  install -m 0644 resources/demo/ATTRIBUTION.md "$STAGE/usr/share/doc/purrsight/demo-ATTRIBUTION.md"
install -m 0644 resources/icons/purrsight.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/"
for png in resources/icons/purrsight-*.png; do
  n=$(basename "$png" .png); n=${n#purrsight-}
  mkdir -p "$STAGE/usr/share/icons/hicolor/${n}x${n}/apps"
  install -m 0644 "$png" "$STAGE/usr/share/icons/hicolor/${n}x${n}/apps/purrsight.png"
done
install -m 0755 installers/deb/postinst installers/deb/postrm "$STAGE/DEBIAN/"
chmod -R u+rwX,go+rX,go-w "$STAGE"

step "Depends (ldd + dpkg -S)"
DEPENDS=$("$PY" installers/deb_depends.py "$DIST/purrsight" \
  --extra libportaudio2 fonts-dejavu-core)
echo "build.sh: Depends: $DEPENDS"
INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_KB/" \
  -e "s/@DEPENDS@/$DEPENDS/" installers/deb/control.in > "$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
  | xargs -0 md5sum > DEBIAN/md5sums)

step "dpkg-deb -Zxz"
DEB="$DIST/purrsight_${VERSION}_${ARCH}.deb"
rm -f "$DEB"
if command -v fakeroot >/dev/null 2>&1; then
  fakeroot dpkg-deb --build -Zxz "$STAGE" "$DEB" >/dev/null
else
  dpkg-deb --root-owner-group --build -Zxz "$STAGE" "$DEB" >/dev/null
fi
step "done, ${SECONDS} s in all"
echo "build.sh: $DEB: $(du -m "$DEB" | cut -f1) MB (bundle ${BUNDLE_MB} MB, model ${MODEL_MB} MB)"
[ -n "$MODEL" ] || echo "$NO_MODEL_WARNING" >&2
