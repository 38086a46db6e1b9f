#!/bin/sh
# Write RATE lines a second ("line N", N from 0) for SECONDS seconds, then, QUIET seconds
# later (past journald's rate-limit interval: journald writes its note of dropped lines with
# the unit's next line), one line "done N", and stay up, as an app server goes on running.
# One long-lived writer (awk) writes every line: journald tells which unit a line is from by
# the writing process, and cannot for a process that has already exited.
rate=${1:-5000}
secs=${2:-20}
quiet=${3:-2}
exec awk -v rate="$rate" -v secs="$secs" -v quiet="$quiet" 'BEGIN {
  n = 0
  for (s = 0; s < secs; s++) {
    for (i = 0; i < rate; i++) print "line " n++
    fflush()
    system("sleep 1")
  }
  system("sleep " quiet)
  print "done " n
  fflush()
  system("exec sleep 100000")
}'
