#!/usr/bin/env python3
"""A/B of whole-process cost: the same command run by several driftless binaries, interleaved.

    python3 benches/startup.py [--rounds 40] [--per-round 10] BIN... -- ARGS...

Each round runs every binary --per-round times, in a fresh random order, so a burst of load
from others on the machine falls on all of them alike. Prints, per binary, the 10th
percentile and the median of the wall time and of the CPU time (user + system, from wait4,
which the kernel accounts exactly), with the first binary as the baseline. The 10th
percentile is the figure to compare on a shared machine: it is what a run costs when nobody
else is in the way.

Copy each binary with `cp` before comparing: a file just written by the linker sits in the
page cache in 4 KiB pages and starts ≈ 0.13 ms slower than a copy (BENCHMARKS.md), which
would swamp what is being measured.
"""
import argparse
import os
import random
import statistics
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("binaries", nargs="+")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    devnull = os.open(os.devnull, os.O_WRONLY)
    redirect = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    wall = {binary: [] for binary in args.binaries}
    cpu = {binary: [] for binary in args.binaries}
    order = list(args.binaries)
    for _ in range(args.rounds):
        random.shuffle(order)
        for binary in order:
            for _ in range(args.per_round):
                start = time.perf_counter()
                pid = os.posix_spawn(binary, [binary] + command, os.environ, file_actions=redirect)
                _, status, usage = os.wait4(pid, 0)
                wall[binary].append(time.perf_counter() - start)
                cpu[binary].append(usage.ru_utime + usage.ru_stime)
                if status != 0:
                    raise SystemExit(f"{binary} failed with status {status}")

    def p10(values):
        return statistics.quantiles(values, n=10)[0] * 1000

    base = p10(cpu[args.binaries[0]])
    for binary in args.binaries:
        print(f"{binary}: wall p10 {p10(wall[binary]):.3f} median "
              f"{statistics.median(wall[binary]) * 1000:.3f} ms; CPU p10 {p10(cpu[binary]):.3f} "
              f"({p10(cpu[binary]) - base:+.3f}) median {statistics.median(cpu[binary]) * 1000:.3f} ms "
              f"(n={len(cpu[binary])})")


if __name__ == "__main__":
    main()
