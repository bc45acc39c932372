#!/usr/bin/env python3
"""Salt's side of scripts/bench-fanout.sh: `cmd.run true` through LocalClient, timed like Fleet's.

Usage (with the venv's python): bench_salt.py MASTER_CONFIG --minions N [--rounds R]
                                [--latency K --latency-minion ID]
Waits until every minion answers test.ping, then measures the round trip to one minion K times
and R fan-outs to all of them (LocalClient.cmd returns once every minion has returned).
"""
import argparse, statistics, time

import salt.client
import salt.config


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("master_config")
    parser.add_argument("--minions", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--latency", type=int, default=0)
    parser.add_argument("--latency-minion", default="salt-1")
    args = parser.parse_args()
    client = salt.client.LocalClient(mopts=salt.config.client_config(args.master_config))

    deadline = time.monotonic() + 600
    while True:
        answered = client.cmd("*", "test.ping", timeout=5)
        if len(answered) >= args.minions:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(answered)} of {args.minions} salt-minions answered test.ping")
        time.sleep(2)
    print(f"{args.minions} salt-minions answer test.ping", flush=True)

    if args.latency:
        samples = []
        for i in range(args.latency + 3):
            start = time.perf_counter()
            result = client.cmd(args.latency_minion, "cmd.run", ["true"], timeout=30)
            if args.latency_minion not in result:
                raise SystemExit(f"no return from {args.latency_minion}")
            if i >= 3:
                samples.append((time.perf_counter() - start) * 1000)
        print(f"round trip `true` to 1 minion (LocalClient.cmd): p50 {percentile(samples, 0.5):.1f} ms, "
              f"p99 {percentile(samples, 0.99):.1f} ms (min {min(samples):.1f}, max {max(samples):.1f}, "
              f"n={len(samples)}) [salt]", flush=True)

    durations = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        result = client.cmd("*", "cmd.run", ["true"], timeout=60)
        elapsed = (time.perf_counter() - start) * 1000
        if len(result) != args.minions:
            raise SystemExit(f"fan-out returned {len(result)} of {args.minions}")
        durations.append(elapsed)
        print(f"  fan-out {elapsed:.0f} ms", flush=True)
        time.sleep(0.5)
    if durations:
        durations.sort()
        print(f"fan-out `true` to {args.minions} minions (LocalClient.cmd): median {statistics.median(durations):.0f} ms "
              f"(min {durations[0]:.0f}, max {durations[-1]:.0f}, n={len(durations)}) [salt]", flush=True)


if __name__ == "__main__":
    main()
