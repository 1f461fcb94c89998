"""warpsmith's Ray driver: runs the blocks of a `generate --engine ray` run as Ray tasks.

Started by the warpsmith binary with one argument, a JSON file: {"address": str | null, "binary": str,
"args": [str], "blocks": [int], "of": int, "parts": str, "cpus": int, "retries": int}. Each task runs
`BINARY generate ARGS --blocks B/OF --out PARTS/B` on its node, with `cpus` CPUs as its Ray resources (one per
Warp worker); the part directory is on a filesystem every node sees. A task whose process dies (or whose
warpsmith exits non-zero) is retried by Ray up to `retries` times; a retried part resumes from its stored
blocks. Progress goes to stderr; exit 0 only when every block is computed.
"""

import json
import signal
import subprocess
import sys
import time

import ray

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # the warpsmith process ends with the Ray worker that started it, so a retry never meets an orphan
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main():
    # the driver ends with the warpsmith process that started it; Ray then ends this job's tasks (and a local
    # instance), whose warpsmith processes end with their workers: a killed run leaves nothing computing
    _die_with_parent()
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    if job["address"]:
        ray.init(address=job["address"], log_to_driver=False)
    else:
        # a local instance: the same command works on a laptop
        ray.init(include_dashboard=False, log_to_driver=False)

    @ray.remote(num_cpus=job["cpus"], max_retries=job["retries"], retry_exceptions=True)
    def block(b):
        cmd = [job["binary"], "generate", *job["args"], "--blocks", f"{b}/{job['of']}",
               "--out", f"{job['parts']}/{b}"]
        start = time.time()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=_die_with_parent)
        if out.returncode != 0:
            raise RuntimeError(f"block {b}: warpsmith exited {out.returncode}:\n{out.stderr[-4000:]}")
        return b, time.time() - start

    pending = {block.remote(b): b for b in job["blocks"]}
    total = len(pending)
    done = 0
    start = time.time()
    per_block = job["block_size"]
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            b = pending.pop(ref)
            try:
                ray.get(ref)
            except Exception as e:  # reported and fatal: the run cannot be merged without this block
                sys.stderr.write(f"error: block {b} failed after {job['retries']} retries: {e}\n")
                return 1
            done += 1
            secs = max(time.time() - start, 1e-9)
            rate = done * per_block / secs
            eta = (total - done) * secs / done
            sys.stderr.write(f"  block {b} computed: {done}/{total} blocks, {rate:.1f} records/s, ETA {eta:.0f} s\n")
            sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
