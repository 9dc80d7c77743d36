#!/usr/bin/env python3
"""A/B of commands, alternating runs (so load swings hit both alike): ab.py ROUNDS NAME=CMD...
Per command: median and fastest wall time, median CPU (user+sys), median peak RSS (wait4)."""
import os, shlex, statistics, subprocess, sys, time
rounds = int(sys.argv[1])
cmds = [a.split('=', 1) for a in sys.argv[2:]]
res = {n: [] for n, _ in cmds}
for r in range(rounds + 2):
    for name, cmd in (cmds if r % 2 == 0 else cmds[::-1]):
        t = time.perf_counter()
        p = subprocess.Popen(shlex.split(cmd), stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        assert status == 0, (name, status)
        if r >= 2:  # two warm-up rounds
            res[name].append((wall * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3, ru.ru_maxrss / 1024))
for name, rows in res.items():
    w, c, m = zip(*rows)
    print(f"{name}: wall median {statistics.median(w):.1f} ms, fastest {min(w):.1f} ms; "
          f"CPU median {statistics.median(c):.1f} ms; peak RSS median {statistics.median(m):.1f} MB (max {max(m):.1f}) [{len(rows)} runs]")
