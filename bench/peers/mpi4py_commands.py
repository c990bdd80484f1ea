"""Benchmark 1 peer: shell commands through mpi4py.futures, one subprocess.run per task.

    mpirun -np 3 /usr/bin/python3 -m mpi4py.futures mpi4py_commands.py FILE
Prints `seconds=<wall of the map> tasks=<n> failed=<n>`.
"""
import subprocess
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def run(command):
    return subprocess.run(command, shell=True).returncode


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        commands = [line.rstrip("\n") for line in f if line.strip()]
    with MPIPoolExecutor() as pool:
        pool.submit(int, 0).result()  # workers up before the clock starts
        start = time.perf_counter()
        codes = list(pool.map(run, commands))
        seconds = time.perf_counter() - start
    print(f"seconds={seconds:.3f} tasks={len(codes)} failed={sum(1 for c in codes if c)}")
