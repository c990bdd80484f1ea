"""Benchmarks 1 and 3 peer: Dask distributed on a local cluster of 2 worker processes, 1 thread each.

    /usr/bin/python3 dask_tasks.py noop N         no-op function tasks (client.map)
    /usr/bin/python3 dask_tasks.py commands FILE  one subprocess.run per line
Prints `seconds=<wall of the map> tasks=<n> tasks_per_s=<rate>` (the cluster is started before the clock).
"""
import subprocess
import sys
import time

from dask.distributed import Client, LocalCluster


def noop(x):
    return x


def run(command):
    return subprocess.run(command, shell=True).returncode


if __name__ == "__main__":
    mode, arg = sys.argv[1], sys.argv[2]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.submit(noop, -1).result()
        if mode == "noop":
            items, fn = list(range(int(arg))), noop
        else:
            with open(arg) as f:
                items, fn = [line.rstrip("\n") for line in f if line.strip()], run
        start = time.perf_counter()
        results = client.gather(client.map(fn, items, pure=False))
        seconds = time.perf_counter() - start
    if mode == "commands":
        assert not any(results), "some commands failed"
    print(f"seconds={seconds:.3f} tasks={len(items)} tasks_per_s={len(items) / seconds:.1f}")
