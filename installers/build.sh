#!/usr/bin/env bash
# Build PurrSight for the machine this runs on: a PyInstaller one-folder bundle in
# dist/purrsight/ and a Debian package dist/purrsight_<version>_<arch>.deb.
#
#   installers/build.sh [--no-deb] [--smoke]
#
# PyInstaller is not a cross-compiler: run this on amd64 for amd64 and on the Raspberry Pi 5
# (arm64, Raspberry Pi OS bookworm) for arm64. Nothing below names an architecture.
# Inputs (optional): PURRSIGHT_BUNDLE_DIR = a model bundle folder to ship as the default
# (else resources/models/default if present); PURRSIGHT_DEMO_SRC = demo media folder (else
# resources/demo); PYTHON = interpreter for the build venv (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
VENV=installers/.build-venv
DIST=dist
WORK=build/installer
MAKE_DEB=1
SMOKE=0
for arg in "$@"; do
  case "$arg" in
    --no-deb) MAKE_DEB=0 ;;
    --smoke) SMOKE=1 ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
  esac
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

# 1. A runtime-only venv: the project's dependencies without extras, plus PyInstaller.
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

# 2. PyInstaller one-folder bundle -> dist/purrsight/
step "pyinstaller"
rm -rf "$DIST/purrsight"
PURRSIGHT_SPEC_WORK="$ROOT/$WORK/spec" "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$DIST" --workpath "$WORK/pyinstaller" installers/purrsight.spec
step "strip"
"$PY" installers/strip_bundle.py "$DIST/purrsight"
BUNDLE_MB=$(du -sm "$DIST/purrsight" | cut -f1)
echo "build.sh: bundle $DIST/purrsight: ${BUNDLE_MB} MB"

if [ "$SMOKE" -eq 1 ]; then
  step "smoke test"
  "$VENV/bin/python" installers/smoke_test.py --binary "$DIST/purrsight/purrsight"
fi
if [ "$MAKE_DEB" -eq 0 ]; then
  step "done (no .deb), ${SECONDS} s in all"
  exit 0
fi

# 3. Stage the Debian package tree.
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
echo "build.sh: $DEB: $(du -m "$DEB" | cut -f1) MB (bundle ${BUNDLE_MB} MB)"
