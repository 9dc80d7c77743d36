#!/bin/sh
# `stagecraft secrets run` against a plain exec and python-dotenv's `dotenv run`, at 40 and
# 5,000 keys, with hyperfine 1.15.0 (Debian package `hyperfine`). Not run in CI.
#
#   cargo build --release -p stagecraft && sh cli/benches/run.sh
set -eu
stagecraft=${STAGECRAFT:-$(pwd)/target/release/stagecraft}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for n in 40 5000; do
    i=0
    while [ "$i" -lt "$n" ]; do
        printf 'KEY_%04d=value-%04d-abcdefghijklmnopqrstuvwxyz0123456789\n' "$i" "$i"
        i=$((i + 1))
    done > "$dir/$n.env"
done
cd "$dir"
for n in 40 5000; do
    set -- -N --warmup 10 --min-runs 100 --export-json "$dir/$n.json" \
        "true" "$stagecraft secrets run --from $n.env -- true"
    if command -v dotenv > /dev/null; then
        set -- "$@" "dotenv -f $n.env run true"
    fi
    hyperfine "$@" > /dev/null
    # Medians: the machine is shared, and means carry its outliers.
    python3 -c 'import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%s keys | %-60s | median %7.1f ms | min %7.1f ms" % (sys.argv[2], r["command"].split("/")[-1], r["median"] * 1e3, r["min"] * 1e3))' "$dir/$n.json" "$n"
done
