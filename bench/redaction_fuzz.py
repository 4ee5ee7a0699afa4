"""Differential fuzz of `connections.redact`: an old version against the clone's on the same generated texts.

    python bench/redaction_fuzz.py [--old git:REV | --old PATH] [--texts 50000] [--seed 49] [--show 5]

Prints how many texts each version's output differs on, and the leaks (a run of 4 characters of a secret the text
held, or of a remembered secret, that survives) of each: the new version may leak nothing the old one does not.
Exit status 1 where it does. Texts: `redaction_texts.fuzz_text`.
"""
from __future__ import annotations

import argparse
import random
import sys

from redaction_texts import CONNECTIONS, REPO, fuzz_text, leaked_runs, load_redaction

REMEMBERED = ("Rem3mbered!Secret", "k3y+ab/c==")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", default="git:HEAD")
    parser.add_argument("--texts", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=49)
    parser.add_argument("--show", type=int, default=5)
    arguments = parser.parse_args()
    old = load_redaction(arguments.old, "old_connections")
    new = load_redaction("%s/%s" % (REPO, CONNECTIONS), "new_connections")
    for module in (old, new):
        module._mask_in_airflow = lambda forms: None
        for secret in REMEMBERED:
            module.remember_secret(secret)
    rng = random.Random(arguments.seed)
    differing, leaks = [], {"old": [], "new": []}
    only_new = []
    for _ in range(arguments.texts):
        text, secrets = fuzz_text(rng)
        if rng.random() < 0.1:
            text += " echoed %s" % rng.choice(REMEMBERED)
            secrets.append(text.rsplit(" ", 1)[1])
        said = {"old": old.redact(text), "new": new.redact(text)}
        if said["old"] != said["new"]:
            differing.append((text, said["old"], said["new"]))
        runs = {}
        for version in ("old", "new"):
            runs[version] = set().union(*(leaked_runs(secret, text, said[version]) for secret in secrets))
            if runs[version]:
                leaks[version].append(text)
        if runs["new"] - runs["old"]:
            only_new.append((text, sorted(runs["new"] - runs["old"]), said["new"]))
    print("%d texts (seed %d), old %s: output differs on %d; texts leaking: old %d, new %d; leaking runs only the new "
          "version leaks: %d texts" % (arguments.texts, arguments.seed, arguments.old, len(differing),
                                       len(leaks["old"]), len(leaks["new"]), len(only_new)))
    for text, old_said, new_said in differing[:arguments.show]:
        print("DIFFERS %r\n   old %r\n   new %r" % (text, old_said, new_said))
    for text, runs, new_said in only_new[:arguments.show]:
        print("NEW LEAK %r %r\n   new %r" % (runs, text, new_said))
    return 1 if only_new else 0


if __name__ == "__main__":
    sys.exit(main())
