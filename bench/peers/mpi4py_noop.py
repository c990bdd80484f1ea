"""Benchmark 3 peer: no-op function tasks through mpi4py.futures' MPIPoolExecutor.

    mpirun -np 3 /usr/bin/python3 -m mpi4py.futures mpi4py_noop.py N CHUNKSIZE
Prints `tasks_per_s=<rate>` for the map alone (workers are started before the clock).
"""
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def noop(x):
    return x


if __name__ == "__main__":
    n, chunksize = int(sys.argv[1]), int(sys.argv[2])
    with MPIPoolExecutor() as pool:
        pool.submit(noop, 0).result()
        start = time.perf_counter()
        total = sum(pool.map(noop, range(n), chunksize=chunksize))
        seconds = time.perf_counter() - start
    assert total == n * (n - 1) // 2
    print(f"seconds={seconds:.3f} tasks={n} tasks_per_s={n / seconds:.1f}")
