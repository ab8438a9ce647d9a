"""``purrsight`` / ``python -m purrsight_app``: parse options, check for a display, run.

Qt aborts the whole process (exit 134) when it has no display to talk to; checking first
lets us print what to do instead and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from purrsight_app.paths import add_data_dir_argument

NO_DISPLAY_EXIT = 2
NO_DISPLAY_MESSAGE = (
    "purrsight: no display found (DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM are unset).\n"
    "  Start it from a desktop session, or run headless with QT_QPA_PLATFORM=offscreen,\n"
    "  or use --offscreen-seconds N for a timed self-test."
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="purrsight",
                                description="See and hear how your cat feels (on-device).")
    add_data_dir_argument(p)
    p.add_argument("--source", metavar="SPEC",
                   help="auto | demo | camera[:N] | mic[:N] | camera+mic | a media file or folder")
    p.add_argument("--bundle", metavar="DIR", help="model bundle folder (default: active model)")
    p.add_argument("--kiosk", action="store_true", help="full screen without window chrome")
    p.add_argument("--size", metavar="WxH", help="window size, e.g. 800x480 (default 1280x720)")
    p.add_argument("--settings", metavar="FILE", help="settings JSON (default: config dir)")
    p.add_argument("--run-seconds", type=float, metavar="N",
                   help="quit after N seconds, print a JSON summary, exit 0 if no errors")
    p.add_argument("--offscreen-seconds", type=float, metavar="N",
                   help="like --run-seconds, on Qt's offscreen platform (smoke tests)")
    p.add_argument("--no-model", action="store_true", help="do not load the model")
    p.add_argument("--selftest", action="store_true",
                   help="check this installation (no display needed)")
    return p.parse_args(argv)


def has_display(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """False only where Qt would abort: Linux/BSD without any display or platform set."""
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return True
    return any(env.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"purrsight: --size must look like 800x480, not {text!r}") from None
    return w, h


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.selftest:
        from purrsight_app.selftest import run_selftest

        return run_selftest(args.data_dir, bundle=args.bundle)
    if args.offscreen_seconds is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if not has_display(os.environ):
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return NO_DISPLAY_EXIT
    from purrsight_app.app import AppOptions, run  # Qt is imported only past the check

    seconds = args.offscreen_seconds if args.offscreen_seconds is not None else args.run_seconds
    options = AppOptions(
        data_dir=args.data_dir, source=args.source, bundle=args.bundle, kiosk=args.kiosk,
        size=_size(args.size), run_seconds=seconds, settings_file=args.settings,
        load_model=not args.no_model,
    )
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
