#!/usr/bin/env python3
"""Compare smtp-trace's JSON Lines summary with a generator truth file.

usage: python3 Benchmarks/compare-truth.py OUTPUT.jsonl TRUTH.json

OUTPUT.jsonl  what `smtp-trace --json FILE` wrote (session, finding and summary records; the
              last record with "type": "summary" is used)
TRUTH.json    the .truth.json written by Benchmarks/generate.c for the same FILE

Compared exactly:
  - "findings": the count per finding id. An id in the truth but missing from the summary, an id
    in the summary but absent from the truth, and a different count are each a difference.
  - "sessions", and the other counters the truth holds and the summary reports under the same
    name: packets, bytes, messages, retransmitted_segments, out_of_order_segments.

Prints "ground truth: N ids, all equal (...)" and exits 0, or prints every difference and exits 1.
Exit 2: usage error, unreadable file, or no summary record in the output.
"""
import json
import sys

# Counters compared besides the findings; "sessions" first (the one the benchmark requires).
COUNTERS = ["sessions", "packets", "bytes", "messages", "retransmitted_segments",
            "out_of_order_segments"]


def fail(message):
    print(f"compare-truth: {message}", file=sys.stderr)
    sys.exit(2)


def load_summary(path):
    summary = None
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                # Only the summary record is needed; skip the (many, large) others cheaply.
                if '"summary"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    fail(f"{path}:{number}: not JSON: {e}")
                if isinstance(record, dict) and record.get("type") == "summary":
                    summary = record
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    if summary is None:
        fail(f"{path}: no summary record (\"type\": \"summary\") - was smtp-trace run with --json "
             "and did it finish?")
    return summary


def load_truth(path):
    try:
        with open(path, encoding="utf-8") as f:
            truth = json.load(f)
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{path}: not JSON: {e}")
    if not isinstance(truth, dict) or not isinstance(truth.get("findings"), dict):
        fail(f"{path}: no \"findings\" object - not a generate.c truth file?")
    return truth


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(2)
    summary = load_summary(argv[1])
    truth = load_truth(argv[2])

    differences = []
    expected = truth["findings"]
    actual = summary.get("findings")
    if not isinstance(actual, dict):
        differences.append('summary has no "findings" object')
        actual = {}
    for fid in sorted(set(expected) | set(actual)):
        want, got = expected.get(fid), actual.get(fid)
        if want == got:
            continue
        if want is None:
            differences.append(f"  {fid}: smtp-trace {got}, truth: absent (must not be reported)")
        elif got is None:
            differences.append(f"  {fid}: smtp-trace: absent, truth {want}")
        else:
            differences.append(f"  {fid}: smtp-trace {got}, truth {want} ({got - want:+d})"
                               if isinstance(got, int) and isinstance(want, int)
                               else f"  {fid}: smtp-trace {got!r}, truth {want!r}")

    checked = []
    for key in COUNTERS:
        if key not in truth:
            if key == "sessions":
                differences.append('  sessions: missing from the truth file')
            continue
        if key not in summary:
            differences.append(f"  {key}: missing from the summary, truth {truth[key]}")
        elif summary[key] != truth[key]:
            differences.append(f"  {key}: smtp-trace {summary[key]}, truth {truth[key]}")
        else:
            checked.append(f"{key} {summary[key]}")

    if differences:
        print(f"ground truth: DIFFERENT ({len(expected)} ids in the truth) - {argv[1]} vs {argv[2]}:")
        print("\n".join(differences))
        return 1
    print(f"ground truth: {len(expected)} ids, all equal ({', '.join(checked)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
