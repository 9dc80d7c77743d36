#!/bin/bash
# Usage: quad.sh BIN — `--keys` naming every key (new target) and `--prune` with many removals
# (a 1,000-key source into an n-key target), at 10k and 100k keys: CPU time (user + sys), best of 5.
set -u
BIN=$1
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
best() { # command… → the least user+sys seconds over 5 runs
  local b=999
  for i in 1 2 3 4 5; do
    eval "$PREP"
    t=$(perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, "/task-clock/{print \$1/1000}")
    b=$(python3 -c "print(min($b,$t))")
  done; echo $b
}
for n in 10000 100000; do
  python3 - k$n.env > keys-$n.args <<'PY'
import sys,re
keys=[]
for line in open(sys.argv[1]):
    m=re.match(r"(?:export )?([A-Z0-9_]+)=",line)
    if m: keys.append(m.group(1))
for i in range(0,len(keys),1000): print("--keys"); print(",".join(keys[i:i+1000]))
PY
  mapfile -t args < keys-$n.args
  PREP="rm -f out.env"; all=$(best $BIN secrets sync --provider envfile --from k$n.env --to out.env)
  keys=$(best $BIN secrets sync --provider envfile --from k$n.env --to out.env "${args[@]}")
  PREP="cp k$n.env pr.env"; prune=$(best $BIN secrets sync --provider envfile --from k1000.env --to pr.env --prune)
  python3 -c "
n=$n; a,k,p=$all*1e3,$keys*1e3,$prune*1e3
print(f'| {n:,} | {a:.0f} ms ({a*1e6/n:.0f} ns/key) | {k:.0f} ms ({k*1e6/n:.0f} ns/key) | {p:.0f} ms ({p*1e6/n:.0f} ns/key) |')"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
