"""Real-time factor of Whisper through CTranslate2 int8 on this CPU: seconds of audio per second.

    python benchmarks/speech.py [--sizes tiny base small] [--threads 2] [--seconds 60]
                                [--tokens-per-second 3] [--out bench-out/speech]

No Whisper weights reach this machine, so each size is a random-weight Whisper of the real shape
(``export.whisper_tiny.build_tiny_whisper``: tiny d_model 384, 4+4 layers, 6 heads; base 512,
6+6, 8; small 768, 12+12, 12; vocabulary 51,865, 80 mel bins), converted by CTranslate2's
converter to int8 as ``Systran/faster-whisper-*`` is used on CPUs. The audio is ``--seconds`` of
espeak-ng sentences with pauses between them, muxed into an MP4 (AAC), and the whole
``WhisperTranscriber.transcribe`` is timed: decoding, the energy rule, log-mel, language
detection, greedy decoding with timestamps and word alignment.

Random weights do not stop where speech stops: they may emit tokens up to the cap of each window.
So decoding is capped at ``--tokens-per-second`` (3 by default; English speech is ~2–3 tokens a
second) of each window's audio, which is what a real model emits for speech; the figures are for
that decoding length, not for a model that talks to its cap.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES = {"tiny": (384, 4, 6), "base": (512, 6, 8), "small": (768, 12, 12)}
SENTENCES = [
    "happy birthday grandma, we love you",
    "where are we, I think we are lost",
    "the speech at the wedding was beautiful",
    "look at the dog running on the beach",
    "put the candles on the cake please",
    "this is the view from the top of the mountain",
    "say hello to everyone at home",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--tokens-per-second", type=float, default=3.0)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"

    from benchmarks.fixtures import machine
    from core.speech.audio import SAMPLE_RATE
    from core.speech.vad import frame_levels, speech_spans
    from core.speech.whisper import WhisperTranscriber
    from export.whisper_tiny import build_tiny_whisper, convert_to_ct2
    from tests.speech_media import speech_track, write_speech_video

    print(machine())
    out = args.out or Path(tempfile.mkdtemp(prefix="speech-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    placements, at, index = [], 1.0, 0
    while at < args.seconds - 4:
        placements.append((at, SENTENCES[index % len(SENTENCES)]))
        at += 5.0 + (index % 3) * 1.5
        index += 1
    samples, truth = speech_track(args.seconds, placements, noise_dbfs=-50)
    video = write_speech_video(out / "speech.mp4", samples, args.seconds)
    spoken = sum(b - a for a, b in truth)
    spans = speech_spans(frame_levels(samples))
    kept = sum(b - a for a, b in spans)
    print(
        f"audio: {args.seconds:.0f} s, {len(placements)} espeak-ng sentences, {spoken:.1f} s "
        f"spoken; energy rule keeps {kept:.1f} s in {len(spans)} spans "
        f"({len(samples) / SAMPLE_RATE:.0f} s decoded)"
    )
    print(
        f"decoding: greedy, timestamps and word alignment, at most "
        f"{args.tokens_per_second:g} tokens per second of window; {args.threads} CPU threads"
    )
    print(f"{'size':<6} {'runtime':<20} {'load s':>7} {'transcribe s':>13} {'RTF (audio s/s)':>16}")
    for size in args.sizes:
        d_model, layers, heads = SHAPES[size]
        ct2 = out / f"faster-whisper-{size}-shaped"
        if not (ct2 / "model.bin").exists():
            hf = build_tiny_whisper(out / f"hf-{size}", d_model=d_model, layers=layers, heads=heads)
            convert_to_ct2(hf, ct2, quantization=args.compute_type)
        started = time.perf_counter()
        transcriber = WhisperTranscriber(
            ct2,
            device=args.device,
            compute_type=args.compute_type,
            cpu_threads=args.threads,
            max_tokens_per_second=args.tokens_per_second,
            # random weights never make a likely text: the guards would decode every window six
            # times, which real weights rarely need; this measures one decoding per window
            guards=False,
        )
        loaded = time.perf_counter() - started
        transcriber.transcribe(video)  # warm-up
        started = time.perf_counter()
        transcript = transcriber.transcribe(video)
        took = time.perf_counter() - started
        print(
            f"{size:<6} {transcriber.runtime:<20} {loaded:7.2f} {took:13.2f} "
            f"{args.seconds / took:16.1f}   ({len(transcript.lines)} lines, "
            f"{sum(len(line.words) for line in transcript.lines)} words)"
        )


if __name__ == "__main__":
    main()
