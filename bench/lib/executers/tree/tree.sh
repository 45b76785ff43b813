#!/bin/sh
# Benchmark program for cancel. `single`: one process (this shell becomes `sleep 300`). `obedient`:
# this shell and two grandchildren that sleep 300 s. `stubborn`: the same, all deaf to SIGTERM, so
# only a SIGKILL ends them. It writes its pids to PIDFILE (atomically) so the benchmark can watch
# every process of the program.
# Usage: sh tree.sh PIDFILE single|obedient|stubborn
if [ "$2" = single ]; then
  echo "$$" > "$1.tmp" && mv "$1.tmp" "$1"
  exec sleep 300
fi
[ "$2" = stubborn ] && trap '' TERM
sleep 300 &
a=$!
sleep 300 &
b=$!
echo "$$ $a $b" > "$1.tmp" && mv "$1.tmp" "$1"
wait
