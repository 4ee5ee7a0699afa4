"""CPU time of `connections.redact` on a realistic mix (DAG event texts, DMS errors, ODBC errors, a few with secrets).

    python bench/redaction_bench.py [--against git:REV | --against PATH ...] [--rounds 7] [--texts 20000]

Each version redacts the same texts, rounds interleaved; prints the median CPU seconds per version over the rounds
(process time, so a busy machine's waiting is not counted) and its ratio to the clone's. Not a test: a measurement.
"""
from __future__ import annotations

import argparse
import statistics
import time

from redaction_texts import CONNECTIONS, REPO, load_redaction, realistic_mix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", action="append", default=[])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--texts", type=int, default=20000)
    arguments = parser.parse_args()
    sources = ["%s/%s" % (REPO, CONNECTIONS)] + arguments.against
    versions = [load_redaction(source, "connections_%d" % index) for index, source in enumerate(sources)]
    for version in versions:
        version._mask_in_airflow = lambda forms: None
        version.remember_secret("Rem3mbered!Secret")
    mix = realistic_mix()
    texts = (mix * (arguments.texts // len(mix) + 1))[:arguments.texts]
    times = [[] for _ in versions]
    for round_ in range(arguments.rounds + 1):
        for index in range(len(versions)):
            index = (index + round_) % len(versions)
            redact = versions[index].redact
            started = time.process_time()
            for text in texts:
                redact(text)
            if round_:  # the first round warms up
                times[index].append(time.process_time() - started)
    mine = statistics.median(times[0])
    for source, seconds in zip(sources, times):
        median = statistics.median(seconds)
        print("%-40s median %.3f s (min %.3f, max %.3f) for %d texts: %.2fx the clone's"
              % (source[-40:], median, min(seconds), max(seconds), len(texts), median / mine))


if __name__ == "__main__":
    main()
