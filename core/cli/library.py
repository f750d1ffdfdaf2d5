"""The library commands of ``clipseek``: index, search, status, folders, rebuild.

Kept apart from :mod:`core.cli.main` (model diagnostics) so each file stays about one thing. Output
for people goes to the terminal (a progress bar on a TTY, one line per video otherwise); with
``--json`` a single JSON document goes to stdout and progress still goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from typing import Any, TextIO

from core import preferences
from core.cli.progress import ProgressLine
from core.errors import EXIT_FAILURE, DiskFull, LibraryBusy, UsageError
from core.ingest.job import IndexReport, Progress, VideoOutcome
from core.ingest.segments import SegmentRule
from core.ingest.sync import SyncReport
from core.library import Library, open_library, salvage_library
from core.location import folders_at
from core.model.encoder import Encoder
from core.model.registry import resolve_model
from core.pathnames import readable
from core.query import relevance, speech
from core.query.period import Period, PeriodError
from core.query.ranking import SearchResult, SpeechMatch
from core.speech.job import SpeechOutcome, SpeechProgress, SpeechReport
from core.speech.models import open_transcriber, speech_model_folder
from core.status import LibraryStatus
from core.store.layout import DB_NAME
from core.times import clock

LIBRARY_ENV = "CLIPSEEK_LIBRARY"


def _open(args: argparse.Namespace, **options: Any) -> Library:
    """The library every command and the app agree on (core.location.library_root), unless
    ``--library`` / ``$CLIPSEEK_LIBRARY`` name another."""
    encoder = Encoder(resolve_model(args.model), force_cpu=args.cpu)
    root = args.library or os.environ.get(LIBRARY_ENV) or None
    lib = open_library(encoder, root, **options)
    if lib.notice:
        print(f"clipseek: warning: {lib.notice}", file=sys.stderr)
    return lib


class ProgressPrinter:
    """A one-line bar on a terminal; one line per finished video when piped (logs, tests)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._out = ProgressLine(stream)

    def progress(self, p: Progress) -> None:
        frac = p.files_done / p.files_total if p.files_total else 1.0
        bar = "#" * int(24 * frac)
        eta = "" if p.eta_seconds is None else f" ETA {clock(p.eta_seconds)}"
        state = "" if p.state == "indexing" else f" [{p.state}]"
        self._out.status(
            f"[{bar:<24}] {p.files_done}/{p.files_total} files, {p.frames} frames,"
            f" {p.frames_per_second:.1f} frames/s{eta}{state}"
        )

    def video(self, done: int, total: int, outcome: VideoOutcome) -> None:
        name = readable(outcome.path)
        if outcome.ok:
            text = f"indexed {name}: {outcome.frames} frames, {outcome.segments} segments"
            if outcome.error:
                text += f" (warning: {outcome.error})"
        else:
            text = f"failed  {name}: {outcome.error}"
        self._out.line(f"[{done}/{total}] {text}")

    def line(self, text: str) -> None:
        self._out.line(text)

    def status(self, text: str) -> None:
        self._out.status(text)

    def end(self) -> None:
        self._out.end()


def _speech_line(out: ProgressPrinter, p: SpeechProgress) -> None:
    frac = (p.files_done + p.files_failed) / p.files_total if p.files_total else 1.0
    state = "" if p.state == "transcribing" else f" [{p.state}]"
    out.status(
        f"[{'#' * int(24 * frac):<24}] {p.files_done}/{p.files_total} transcribed,"
        f" {p.audio_seconds:.0f} s of audio, {p.realtime_factor:.1f}x real time{state}"
    )


def _run_speech(
    lib: Library, args: argparse.Namespace, out: ProgressPrinter
) -> SpeechReport | None:
    """The speech pass after indexing, when a speech model is there; Ctrl+C stops it cleanly
    (transcripts already stored stay). None: no speech model (or it is turned off)."""
    folder = speech_model_folder(args.speech_model)
    if folder is None:
        return None
    transcriber = open_transcriber(folder, force_cpu=args.cpu)
    runtime = getattr(transcriber, "runtime", "")

    def on_video(o: SpeechOutcome) -> None:
        name = readable(o.path)
        if o.ok:
            out.line(
                f"transcribed {name}: {o.lines} lines" + (f" ({o.language})" if o.language else "")
            )
        else:
            out.line(f"failed  {name}: {o.error}")

    job = lib.speech_job(transcriber, on_progress=lambda p: _speech_line(out, p), on_video=on_video)
    if not job.videos:
        return SpeechReport()
    out.line(
        f"speech: {folder.name}{f' on {runtime}' if runtime else ''}, {len(job.videos)} videos"
    )
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_sigint(signum: int, frame: object) -> None:
            out.line("\ncancelling: finishing the current window of audio (Ctrl+C again to force)")
            job.cancel()
            signal.signal(signal.SIGINT, signal.default_int_handler)

        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        report = job.run()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    out.end()
    rtf = report.audio_seconds / report.seconds if report.seconds else 0.0
    out.line(
        f"speech: {len(report.transcribed)} transcribed, {len(report.failed)} failed,"
        f" {report.audio_seconds:.0f} s of audio in {report.seconds:.1f} s ({rtf:.1f}x real time)"
        + (" (cancelled)" if report.cancelled else "")
    )
    return report


def _sync_summary(report: SyncReport) -> str:
    parts = [
        f"{len(report.new)} new",
        f"{len(report.modified)} modified",
        f"{len(report.moved)} moved",
        f"{len(report.deleted)} deleted",
        f"{report.unchanged} unchanged",
    ]
    if report.copied:
        parts.append(f"{len(report.copied)} copies (vectors reused)")
    if report.skipped:
        parts.append(f"{report.skipped} non-video files skipped")
    text = "scan: " + ", ".join(parts)
    for folder in report.offline:
        text += f"\nfolder offline, its videos kept: {folder}"
    return text


def _run_job(
    lib: Library, args: argparse.Namespace, out: ProgressPrinter
) -> tuple[IndexReport, bool]:
    """Index what is pending; the first Ctrl+C cancels cleanly (finished videos are kept).

    Returns the report and whether the user asked to stop.
    """
    done = [0]
    total = [0]

    def on_video(outcome: VideoOutcome) -> None:
        done[0] += 1
        out.video(done[0], total[0], outcome)

    job = lib.index_job(
        on_progress=out.progress, on_video=on_video, workers=args.workers, batch_size=args.batch
    )
    total[0] = len(job.videos)
    if not job.videos:
        return IndexReport(), False
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_sigint(signum: int, frame: object) -> None:
            out.line("\ncancelling: finishing the current batch (Ctrl+C again to force)")
            job.cancel()
            signal.signal(signal.SIGINT, signal.default_int_handler)

        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return job.run(), job.cancelled
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def cmd_index(args: argparse.Namespace) -> int:
    rule = None
    if args.segment_seconds is not None:
        rule = SegmentRule.of_length(args.segment_seconds)
    out = ProgressPrinter()
    explicit = args.library or os.environ.get(LIBRARY_ENV)
    previous = preferences.sample_rate()
    changed = args.rate is not None and abs(args.rate - previous) > 1e-9 and not explicit
    if changed:
        try:
            preferences.set_sample_rate(args.rate)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        out.line(
            f"sampling {_rate(args.rate)} from now on (the app too); that rate has a library"
            f" of its own, and the one at {_rate(previous)} is kept"
        )
    lib = _open(
        args, sample_rate=args.rate, segment=rule, checkpoint_seconds=args.checkpoint_seconds
    )
    try:
        lib.writable()  # a read-only or busy library says so before anything else
        if changed and not lib.folders():  # the new rate's library watches the same folders
            inherited = folders_at(lib.encoder, previous)
            for path in inherited:
                lib.add_folder(path)
            if inherited:
                out.line(f"watching the same {len(inherited)} folder(s) as at {_rate(previous)}")
        for path in args.paths:
            lib.add_folder(path)
        if not lib.folders():
            raise UsageError("nothing to index: give a folder, e.g. `clipseek index ~/Videos`")
        out.line(
            f"library {lib.root} · model {lib.encoder.name} · {lib.encoder.describe_provider()}"
        )
        code = 0
        first = True
        while True:
            # The write lock is held for a scan and its job, not while --watch sleeps: the
            # window open on the same library may write in between.
            try:
                with lib.writing():  # nested changes share it: only taking it raises LibraryBusy
                    sync = lib.sync(args.paths or None)
                    if first or sync.changed or sync.pending:
                        out.line(_sync_summary(sync))
                    try:
                        report, stop = _run_job(lib, args, out)
                    except DiskFull as exc:
                        if not args.watch:
                            raise
                        out.line(f"stopped: {exc}")  # watching goes on: the next scan tries again
                        report, stop = IndexReport(cancelled=False), False
                    spoken = None if report.cancelled or stop else _run_speech(lib, args, out)
            except LibraryBusy as exc:
                if first or not args.watch:
                    raise
                out.line(f"waiting: {exc}")  # the window is indexing: the next scan tries again
                if not _sleep(args.interval):
                    out.line("stopped watching")
                    break
                continue
            if first or report.encoded or report.failed or report.cancelled:
                out.line(
                    f"done: {len(report.encoded)} indexed, {len(report.failed)} failed,"
                    f" {report.frames} frames in {report.seconds:.1f} s"
                    + (" (cancelled)" if report.cancelled else "")
                )
            if args.json:
                speech_json = None if spoken is None else spoken.to_json()
                document = {"scan": sync.to_json(), **report.to_json(), "speech": speech_json}
                print(json.dumps(document, indent=2), flush=True)
            if report.cancelled or (spoken is not None and spoken.cancelled):
                code = 130
                break
            if not args.watch:
                break
            if stop:
                out.line("stopped watching")
                break
            if first:
                out.line(f"watching for changes every {args.interval:g} s (Ctrl+C to stop)")
            first = False
            if not _sleep(args.interval):
                out.line("stopped watching")
                break
        return code
    finally:
        lib.close()


def _rate(rate: float) -> str:
    return f"{rate:g} frame/s" if rate == 1 else f"{rate:g} frames/s"


def _sleep(seconds: float) -> bool:
    """Sleep; False if Ctrl+C came (the end of --watch, not an error)."""
    try:
        time.sleep(seconds)
        return True
    except KeyboardInterrupt:
        return False


def _shot(r: SearchResult) -> str:
    """When a result was shot, to the minute, in the hours of where it was shot ("unknown date"
    when not known)."""
    shot = r.shot()
    return "unknown date    " if shot is None else shot.strftime("%Y-%m-%d %H:%M")


def _period(args: argparse.Namespace) -> Period:
    try:
        return Period.parse(args.after, args.before)
    except PeriodError as exc:
        raise UsageError(str(exc)) from None


def _result_line(r: SearchResult) -> str:
    match = relevance.label(r.relevance)
    at = f"@{clock(r.start)}" if r.best_t is not None else ""
    line = (
        f"{r.score:6.3f}  {match:<6}  {clock(r.t0):>8}–{clock(r.t1):<8} {at:<8}  {_shot(r)}"
        f"  {r.path}"
    )
    if r.copies:
        line += f"  (+{len(r.copies)} {'copy' if len(r.copies) == 1 else 'copies'})"
    if not r.online:
        line += "  [offline]"
    return line


#: Characters of a spoken line shown under a result, around its first matched word.
SAID_WIDTH = 64


def _said_line(said: SpeechMatch) -> str:
    """The spoken line a result matched, cut around its first match: ``   said: "…happy
    birthday…" 0:12–0:15``."""
    text = said.text
    if len(text) > SAID_WIDTH:
        first = said.spans[0][0] if said.spans else 0
        start = max(0, min(first - SAID_WIDTH // 4, len(text) - SAID_WIDTH))
        cut = text[start : start + SAID_WIDTH]
        text = ("…" if start else "") + cut + ("…" if start + SAID_WIDTH < len(text) else "")
    return f'   said: "{text}" {clock(said.start)}–{clock(said.end)}'


def cmd_search(args: argparse.Namespace) -> int:
    if args.k <= 0:
        raise UsageError("-k must be at least 1")
    if (args.text is None) == (args.image is None):
        raise UsageError('give either a sentence or --image FILE, e.g. clipseek search "a dog"')
    when = _period(args)
    lib = _open(args)
    try:
        folders, merge = args.folder or None, not args.no_merge
        options: dict[str, Any] = {
            "folders": folders, "merge": merge, "when": when, "order": args.sort,
        }  # fmt: skip
        started = time.perf_counter()
        route = None
        if args.image is not None:
            results = lib.search_image(args.image, args.k, **options)
        else:
            results = lib.search(args.text, args.k, lang=args.lang, **options)
            if not speech.parse(args.text).speech_only:  # said: and quotes use no tower
                route = lib.route(args.text, args.lang)
        elapsed = time.perf_counter() - started
        if args.json:
            print(
                json.dumps(
                    {
                        "query": {
                            "text": args.text, "image": args.image,
                            "after": args.after, "before": args.before, "sort": args.sort,
                            "lang": args.lang if args.image is None else None,
                        },
                        "tower": None if route is None else route.to_json(),
                        "results": [r.to_json() for r in results],
                        "seconds": round(elapsed, 4),
                    },
                    indent=2,
                )
            )  # fmt: skip
            return 0
        if route is not None and (route.tower != "clip" or route.note):
            print(route.describe())  # English read by CLIP goes without saying
        if not results and when.bounded:
            print(f"no results: no indexed video was {when.describe()}")
        elif not results:
            print("no results: the library is empty (run `clipseek index FOLDER`)")
        else:
            shown = relevance.shown_count([r.relevance for r in results])
            for i, r in enumerate(results):
                if i == shown:
                    print("  -- weaker matches below --")
                print(_result_line(r))
                if r.speech is not None:
                    print(_said_line(r.speech))
        return 0
    finally:
        lib.close()


def cmd_browse(args: argparse.Namespace) -> int:
    """The library without a query: one line per video, newest shot first, by month."""
    if args.k <= 0:
        raise UsageError("-k must be at least 1")
    when = _period(args)
    lib = _open(args)
    try:
        results = lib.browse(folders=args.folder or None, when=when, limit=args.k)
    finally:
        lib.close()
    if args.json:
        print(json.dumps({"results": [r.to_json() for r in results]}, indent=2))
        return 0
    if not results:
        print(
            f"no indexed video was {when.describe()}"
            if when.bounded
            else "the library is empty (run `clipseek index FOLDER`)"
        )
        return 0
    month = None
    for r in results:
        shot = r.shot()
        heading = "Unknown date" if shot is None else shot.strftime("%B %Y")
        if heading != month:
            print(("\n" if month else "") + heading)
            month = heading
        source = f"({r.captured_source})" if r.captured_source else ""
        print(f"  {_shot(r)}  {clock(r.t1):>8}  {r.path}  {source}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    lib = _open(args)
    try:
        st, problems = _status(lib)
        if problems and lib.read_only is None:  # damaged where opening did not look: salvage
            lib.close()
            lib = salvage_library(lib.encoder, lib.root)
            print(f"clipseek: warning: {lib.notice}", file=sys.stderr)
            st, problems = _status(lib)
        if st is None:  # too damaged to count (and read-only): say where, and stop
            print(_damaged(problems), file=sys.stderr)
            return EXIT_FAILURE
    finally:
        lib.close()
    code = EXIT_FAILURE if problems else 0
    if problems:
        print(_damaged(problems), file=sys.stderr)
    if args.json:
        print(json.dumps({**st.to_json(), "integrity": problems or "ok"}, indent=2))
        return code
    footage = st.indexed_seconds
    length = f"{footage / 3600:.1f} h" if footage >= 3600 else f"{footage / 60:.0f} min"
    print(f"library   {st.library}")
    if st.read_only:
        print(f"access    read-only ({st.read_only}): search and status only")
        if lib.catalog.full is not None:
            print(f"clipseek: warning: {lib.catalog.full}", file=sys.stderr)
    print(f"model     {st.model.name} (head {st.model.head})")
    print(f"provider  {st.model.provider_detail}")
    print(
        f"videos    {st.videos} ({st.indexed} indexed, {st.failed} failed,"
        f" {st.pending} pending), {length} of footage"
    )
    print(f"segments  {st.segments} ({st.frames} frames)")
    for f in st.folders:
        state = "" if f.online else "  [offline]"
        print(
            f"folder    {f.path}: {f.videos} videos, {f.indexed} indexed, {f.failed} failed{state}"
        )
    for e in st.errors:
        print(f"error     {e.path}: {e.text}")
    for w in st.warnings:
        print(f"warning   {w.path}: {w.text}")
    for s in st.skipped[:20]:
        print(f"skipped   {s.path}: {s.text}")
    if len(st.skipped) > 20:
        print(f"skipped   … and {len(st.skipped) - 20} more (--json lists them all)")
    return code


def _status(lib: Library) -> tuple[LibraryStatus | None, list[str]]:
    """The library's status (None when the database is too damaged to count) and what SQLite's
    integrity check finds wrong with it ([] when sound)."""
    try:
        st = lib.status()
    except sqlite3.DatabaseError as exc:
        return None, lib.catalog.integrity_problems() or [str(exc)]
    return st, lib.catalog.integrity_problems()


def _damaged(problems: list[str]) -> str:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return (
        f"clipseek: error: the library database is damaged: {problems[0]}{more}; move"
        f" {DB_NAME} aside and run `clipseek index` to index the watched folders again"
    )


def cmd_folders(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.paths:
        raise UsageError(f"folders {args.action} needs at least one PATH")
    lib = _open(args)
    try:
        if args.action == "add":
            for path in args.paths:
                lib.add_folder(path)
            print(f"added {len(args.paths)} folder(s); run `clipseek index` to index them")
        elif args.action == "remove":
            for path in args.paths:
                gone = lib.remove_folder(path)
                print(f"removed {path}: {gone} video(s) left the library")
        rows = lib.folders()
    finally:
        lib.close()
    if args.action == "list":
        if args.json:
            print(json.dumps([r.to_json() for r in rows], indent=2))
        for r in [] if args.json else rows:
            print(f"{r.path}: {r.videos} videos, {r.indexed} indexed, {r.failed} failed")
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    lib = _open(args, load_index=False)  # never load the file that is to be replaced
    try:
        rule = None
        if args.segment_seconds is not None:
            rule = SegmentRule.of_length(args.segment_seconds)
        started = time.perf_counter()
        count = lib.rebuild(rule)
        print(
            f"rebuilt the vector index: {count} segments in {time.perf_counter() - started:.1f} s"
        )
        return 0
    finally:
        lib.close()


def cmd_demo(args: argparse.Namespace) -> int:
    import subprocess

    from core.demo.library import build_demo, examples

    encoder = Encoder(resolve_model(args.model), force_cpu=args.cpu)
    out = ProgressPrinter()
    out.line(f"making {args.videos} demo videos and indexing them with {encoder.name} ...")
    lib, pairs = build_demo(encoder, videos=args.videos, seed=args.seed, on_progress=out.progress)
    try:
        out.line(f"demo library: {lib.root} ({lib.catalog.segment_count()} segments)")
        if args.no_gui:
            for ex in examples(lib, pairs, count=args.examples):
                rank = "not found" if ex.rank is None else f"rank {ex.rank}"
                print(f'"{ex.caption}" -> its video at {rank}')
                for r in ex.results[:3]:
                    mark = "*" if r.path == ex.video else " "
                    print(f"   {mark}{_result_line(r)}")
            return 0
        root = lib.root
    finally:
        lib.close()
    command = [sys.executable, "-m", "desktop_app", "--model", str(encoder.root)]
    command += ["--library", str(root)] + (["--cpu"] if args.cpu else [])
    return subprocess.call(command)
