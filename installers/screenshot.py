"""Screenshots of the Live, Timeline, Label and Teach panels (under a display, e.g. Xvfb).

Used by ``installers/screenshot.sh``. Starts the real app with the given ``--source`` and
``--data-dir``, waits until frames (and, with a model, overlays) are on screen, grabs the
screen with ``QScreen.grabWindow`` (plus ``import -window root`` when ImageMagick is there, as
an X-level cross-check), switches to the Timeline, waits for its chart, grabs again.

``--seed-history`` first fills the (throwaway!) data dir with a synthetic day of events and
reports so the timeline has something to show; ``--seed-clips MEDIA`` cuts a video into
clips (some labelled) for the Label and Teach panels, and ``--fake-train`` runs the Teach
panel's training with the test stand-in child (until the real ``finetune`` is used). ``--fake-model`` uses the test fakes from
``tests/app/fakes.py`` until a real bundle exists (``--bundle DIR`` uses a real one).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", default="screenshots")
    p.add_argument("--size", default="1280x720")
    p.add_argument("--bundle")
    p.add_argument("--fake-model", action="store_true")
    p.add_argument("--seed-history", action="store_true")
    p.add_argument("--seed-clips", metavar="MEDIA",
                   help="cut this video into clips (some labelled) for the Label/Teach shots")
    p.add_argument("--fake-train", action="store_true",
                   help="train with the test stand-in (tests/app/finetune_child.py)")
    p.add_argument("--prefix", default="")
    p.add_argument("--wait", type=float, default=6.0, help="seconds of live view before the shot")
    return p.parse_args(argv)


def _seed_day(writer, rng: random.Random, day0: float, span: float, n: int, tag: str) -> None:
    from purrsight_app.storage import EventRecord, ObservationRecord, ReportRecord
    from purrsight_model.schema import AFFECTIVE_STATE, Report

    weights = [5, 1, 0.4, 3, 0.3, 2]  # content, anxious, aggressive, playful, distressed, neutral
    calm, tense = ["purr", "meow", "silent", "chirp", "trill"], ["hiss", "growl", "yowl", "meow"]
    for i in range(n):
        start = day0 + span * (i + rng.random() * 0.5) / n
        length = rng.uniform(30, 900)
        state = rng.choices(AFFECTIVE_STATE, weights)[0]
        voc = rng.choice(calm if state in ("content", "playful", "neutral") else tense)
        risk = {"aggressive": 4, "distressed": 5, "anxious": 3}.get(state, rng.choice([1, 2]))
        eid = f"seed-{tag}-{i:03d}"
        writer.put(EventRecord(eid, start, start + length, "seed", state, voc, risk))
        for t in range(0, int(length), 5):
            writer.put(ObservationRecord(start + t, state, 0.7, voc, 0.6, "low", 0.5, 0.9, 0.4,
                                         0.05, eid))
        sound = "was quiet" if voc == "silent" else f"made a {voc} sound"
        rep = Report(affective_state=state, vocalization=voc, arousal="low", risk=str(risk),
                     confidence=0.6, summary=f"The cat seemed {state} and {sound}.",
                     advice="Check on the cat." if risk >= 4 else "Nothing to do.",
                     modalities_used=("image", "audio"))
        writer.put(ReportRecord(rep, start + length, eid))


def seed_history(db_path: Path, seed: int = 7) -> None:
    """Synthetic history: yesterday 06:00-23:00 (30 events) and today until now."""
    from purrsight_app.storage import Store

    rng = random.Random(seed)
    writer = Store.open(db_path).writer()
    today = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    yesterday = (datetime.fromtimestamp(today) - timedelta(days=1)).timestamp()
    _seed_day(writer, rng, yesterday + 6 * 3600, 17 * 3600, 30, "y")
    elapsed = time.time() - today
    if elapsed > 1800:
        _seed_day(writer, rng, today, elapsed - 900, max(1, int(elapsed / 3600)), "t")
    writer.close()


def seed_clips(data: Path, source: Path, n: int = 12, labelled: int = 9) -> None:
    """Cut ``source`` into ``n`` clips (one an hour, ending now) with the app's own clip
    encoder, give them made-up model predictions, and label the first ``labelled``."""
    from purrsight_app.clips import ClipEncoder, write_thumbnail
    from purrsight_app.clips.encoder import even_size
    from purrsight_app.clips.thumbs import thumb_path_for
    from purrsight_app.paths import AppPaths
    from purrsight_app.storage import ClipRecord, LabelRecord, Store
    from purrsight_model import media
    from purrsight_model.schema import AFFECTIVE_STATE

    paths = AppPaths(data).ensure()
    video = media.load_video(source, fps=10.0)
    writer = Store.open(paths.db_path).writer()
    seg, sr = video.duration / n, 16_000
    h, w = video.frames.shape[1:3]
    rng = random.Random(3)
    for i in range(n):
        t0 = time.time() - (n - i) * 3600
        path = paths.clip_dir_for(t0) / f"seed-{i:02d}.mp4"
        enc = ClipEncoder(path, t0, frame_size=even_size(w, h, 640), audio_rate=sr)
        keep = [(t, f) for t, f in zip(video.frame_times, video.frames, strict=True)
                if i * seg <= t < (i + 1) * seg]
        for t, frame in keep:
            enc.add_frame(t0 + t - i * seg, frame)
        if video.audio is not None:
            enc.add_audio(video.audio[int(i * seg * sr):int((i + 1) * seg * sr)], t0)
        duration = enc.close(t0 + seg)
        thumb = write_thumbnail(thumb_path_for(path), keep[len(keep) // 2][1])
        state = AFFECTIVE_STATE[i % len(AFFECTIVE_STATE)]
        conf = rng.uniform(0.3, 0.8)
        probs = {s: (conf if s == state else (1 - conf) / 5) for s in AFFECTIVE_STATE}
        clip = ClipRecord(
            path=str(path.relative_to(paths.data_dir)), ts=t0, source="Demo", duration=duration,
            thumbnail_path=str(thumb.relative_to(paths.data_dir)),
            prediction={"affective_state": state, "affective_state_conf": round(conf, 3),
                        "probs": {"affective_state": probs}, "windows": 12},
            uncertainty=round(conf - (1 - conf) / 5, 3))
        writer.put(clip)
        if i < labelled:
            writer.put(LabelRecord(clip.id, {"affective_state": state, "vocalization": "meow",
                                             "ears": "forward", "arousal": "medium"},
                                   description="sitting by the window, meowing at me"))
    writer.close()


def shoot_learning(qt, app, out: Path, prefix: str, fake_train: bool) -> dict[str, Path]:
    """Label panel (a clip loaded, played a moment, some labels tapped), then the Teach panel
    idle with its estimate, mid-run with the loss curve, and the old-vs-new result."""
    shots = {k: out / f"{prefix}{k}.png" for k in ("labeling", "finetune", "finetune-result")}
    app.window.show_panel("labeling")
    lp = app.labeling
    pump(qt, 10, until=lambda: lp.player.preview is not None)
    lp.player.play()
    pump(qt, 1.2)
    lp.player.pause()
    lp.fields.set_value("affective_state", "content")
    lp.fields.set_value("vocalization", "meow")
    pump(qt, 0.3)
    grab(qt, shots["labeling"])
    fp = app.finetune
    if fake_train:
        sys.path.insert(0, str(ROOT / "tests" / "app"))
        from fakes import FakeAnalyzer
        from labelled_data import CHILD_ENV

        from purrsight_app.pipeline.runtime_loader import LoadedRuntime

        fp.controller.module = "finetune_child"
        fp.controller.env = {**CHILD_ENV, "FT_STEPS": "40", "FT_DELAY": "0.08"}
        fp.switcher.loader = lambda p: LoadedRuntime(FakeAnalyzer(state="playful"), None, p)
    app.window.show_panel("finetune")
    pump(qt, 20, until=lambda: fp.train.estimate.text().startswith(("Estimated", "No est")))
    if fake_train or fp.available:
        fp.train.start.click()
        pump(qt, 30, until=lambda: len(fp.points) > 50)
        pump(qt, 1.0)
    grab(qt, shots["finetune"])
    if fp.controller.running or fp.result is not None:
        pump(qt, 120, until=lambda: fp.result_page.use.isEnabled())
        pump(qt, 0.5)
        grab(qt, shots["finetune-result"])
    return shots


def grab(qt, path: Path) -> None:
    """Grab the whole screen (what a user would see) into ``path``."""
    screen = qt.primaryScreen()
    screen.grabWindow(0).save(str(path))


def x11_import(path: Path) -> bool:
    exe = shutil.which("import")
    if exe is None:
        return False
    return subprocess.run([exe, "-window", "root", str(path)], capture_output=True).returncode == 0


def pump(qt, seconds: float, until=lambda: False) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        qt.processEvents()
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from purrsight_app.app import AppOptions, build_app
    from purrsight_app.pipeline.runtime_loader import LoadedRuntime

    qt = QApplication(sys.argv[:1])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    w, h = (int(v) for v in args.size.split("x"))
    data = Path(args.data_dir)
    if args.seed_history:
        data.mkdir(parents=True, exist_ok=True)
        seed_history(data / "purrsight.db")
    if args.seed_clips:
        seed_clips(data, Path(args.seed_clips))
    app = build_app(AppOptions(data_dir=str(data), source=args.source, bundle=args.bundle,
                               size=(w, h), load_model=not args.fake_model,
                               settings_file=str(data / "settings.json")))
    app.start()
    app.window.move(0, 0)
    if args.fake_model:
        sys.path.insert(0, str(ROOT / "tests" / "app"))
        from fakes import FakeAnalyzer, FakeReporter

        app.session.set_models(LoadedRuntime(FakeAnalyzer(), FakeReporter()))
    pump(qt, args.wait)
    shots = {"live": out / f"{args.prefix}live.png", "timeline": out / f"{args.prefix}timeline.png"}
    grab(qt, shots["live"])
    x11 = x11_import(out / f"{args.prefix}live-x11.png")
    app.window.show_panel("timeline")
    tl = app.timeline
    pump(qt, 15, until=lambda: tl.chart.chart is not None and not tl.render_jobs.busy)
    if args.seed_history:  # yesterday is a full seeded day
        tl.period_bar.prev.click()
        pump(qt, 0.3)
        pump(qt, 15, until=lambda: not tl.jobs.busy and not tl.render_jobs.busy)
    if tl.list.count():
        tl.list.setCurrentRow(0)
    pump(qt, 3, until=lambda: "Loading" not in tl.details.toPlainText()
         and tl.chart.chart is not None and not tl.render_jobs.busy)
    pump(qt, 0.5)
    grab(qt, shots["timeline"])
    shots["week"] = out / f"{args.prefix}timeline-week.png"
    tl.period_bar.mode_buttons["week"].click()
    pump(qt, 0.3)
    pump(qt, 15, until=lambda: not tl.jobs.busy and not tl.render_jobs.busy)
    pump(qt, 0.5)
    grab(qt, shots["week"])
    if args.seed_clips or args.fake_train:
        shots.update(shoot_learning(qt, app, out, args.prefix, args.fake_train))
    summary = {**app.summary(), "shots": {k: str(v) for k, v in shots.items()}, "x11": x11,
               "timeline_status": tl.status.text()}
    print(json.dumps(summary, indent=2))
    app.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
