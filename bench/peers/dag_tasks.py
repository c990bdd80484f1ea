"""Benchmark 4 (real run): writes an mpiq task file of sleep tasks of random lengths on a DAG and prints
the lower bounds of its makespan with W workers of one core.

    /usr/bin/python3 dag_tasks.py stencil|fan N WIDTH WORKERS SEED FILE
stencil: levels of WIDTH tasks, each waiting for 3 of the level before (j-1, j, j+1, wrapping);
fan: blocks of one task, WIDTH tasks waiting for it, one task waiting for those.
Durations uniform in [0.01, 0.09] s (10 ms steps). Prints `critical_path=<s> work=<s> bound=<s>` where
work = sum of durations / WORKERS and bound = max(critical_path, work).
"""
import random
import sys

kind, n, width, workers, seed, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rng = random.Random(seed)
deps = []
if kind == "stencil":
    for i in range(n):
        if i < width:
            deps.append([])
        else:
            base, j = i - i % width - width, i % width
            deps.append(sorted({base + (j - 1) % width, base + j, base + (j + 1) % width}))
else:
    sink = None
    while len(deps) < n:
        root = len(deps)
        deps.append([] if sink is None else [sink])
        middle = []
        for _ in range(width):
            if len(deps) >= n:
                break
            middle.append(len(deps))
            deps.append([root])
        if len(deps) >= n:
            break
        sink = len(deps)
        deps.append(middle)
dur = [rng.randint(1, 9) / 100 for _ in range(n)]
finish = []
for i in range(n):
    finish.append(max((finish[d] for d in deps[i]), default=0.0) + dur[i])
with open(path, "w") as f:
    for i in range(n):
        prefix = "[# " + ", ".join(str(d + 1) for d in deps[i]) + " #] " if deps[i] else ""
        f.write(f"{prefix}sleep {dur[i]:.2f}\n")
cp, work = max(finish), sum(dur) / workers
print(f"critical_path={cp:.3f} work={work:.3f} bound={max(cp, work):.3f}")
