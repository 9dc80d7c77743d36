#!/bin/bash
# Usage: measure.sh BIN [BASE_BIN]  — run from a folder holding k1000.env … k1000000.env
set -u
BIN=$1
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in 1000 10000 100000 1000000; do
  runs=15; [ $n = 1000000 ] && runs=5
  src=k$n.env; size=$(stat -c %s $src)
  hyperfine -N --warmup 1 --runs $runs --export-json new-$n.json --prepare "rm -f out.env" \
    "$BIN secrets sync --provider envfile --from $src --to out.env" \
    "sh -c 'cp $src out.env && sync out.env'" >/dev/null 2>&1
  rm -f out.env; newrss=$( { /usr/bin/time -f %M $BIN secrets sync --provider envfile --from $src --to out.env >/dev/null; } 2>&1 )
  hyperfine -N --warmup 1 --runs $runs --export-json up-$n.json \
    "$BIN secrets sync --provider envfile --from $src --to out.env" >/dev/null 2>&1
  uprss=$( { /usr/bin/time -f %M $BIN secrets sync --provider envfile --from $src --to out.env >/dev/null; } 2>&1 )
  python3 - "$n" "$size" "$newrss" "$uprss" <<'PY'
import json,sys
n,size,newrss,uprss=sys.argv[1:]
new=json.load(open(f"new-{n}.json"))["results"]; up=json.load(open(f"up-{n}.json"))["results"]
sc,cp=new[0]["median"]*1e3,new[1]["median"]*1e3; u=up[0]["median"]*1e3
size=int(size); n=int(n)
print(f"| {n:,} | {size/1e6:.2f} MB | {sc:.1f} ms ({sc*1e6/n:.0f} ns/key) | {cp:.1f} ms | {sc/cp:.2f}x | {int(newrss)/1e3:.1f} MB ({int(newrss)*1e3/size:.1f}x) | {u:.1f} ms ({u*1e6/n:.0f} ns/key) | {int(uprss)/1e3:.1f} MB ({int(uprss)*1e3/size:.1f}x) |")
PY
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
