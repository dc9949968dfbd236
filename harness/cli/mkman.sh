#!/usr/bin/env bash
# Writes faultline's man page (section 1) from the program's own help texts, so the two never
# disagree: `faultline --help` for the description and the exit codes, `faultline help CMD`
# for each command.
# usage: mkman.sh FAULTLINE OUTPUT INSTALLED_SCENARIO_DIR
set -euo pipefail
fl=$1
out=$2
# The page describes an installed faultline: its library, not this build tree's.
export FAULTLINE_SCENARIOS=$3
unset NO_COLOR TERM
export ASAN_OPTIONS=detect_leaks=0 # a sanitizer build runs this too

esc() { # roff-safe text: backslashes, hyphens, and lines that would read as requests
  sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}
version=$("$fl" --version | sed 's/^faultline //')
commands="list show validate run dump decode report bundle"
{
  echo ".TH FAULTLINE 1 \"\" \"faultline $version\" \"User Commands\""
  echo ".SH NAME"
  echo "faultline \\- reproduce gRPC streaming failures on demand"
  echo ".SH SYNOPSIS"
  for c in $commands; do
    echo ".br"
    "$fl" help "$c" | sed -n '1s/^usage: //p' | esc | sed 's/^/.B /'
  done
  echo ".SH DESCRIPTION"
  # the main help's first paragraph, then (as printed) the rest up to the exit codes
  "$fl" --help | sed -n '3,/^$/p' | esc
  echo ".PP"
  echo ".nf"
  "$fl" --help | sed -n '/^Commands:/,/^Exit codes:/p' | sed '$d' | esc
  echo ".fi"
  echo ".SH COMMANDS"
  for c in $commands; do
    echo ".SS $("$fl" help "$c" | sed -n '1s/^usage: //p' | esc)"
    echo ".nf"
    "$fl" help "$c" | sed -n '3,/^Exit codes:/p' | sed '$d' | esc
    echo ".fi"
  done
  echo ".SH EXIT STATUS"
  echo ".nf"
  "$fl" --help | sed -n '/^Exit codes:/,$p' | sed '1d' | esc
  echo ".fi"
  cat <<'ROFF'
.SH ENVIRONMENT
.TP
.B FAULTLINE_SCENARIOS
the scenario library folder, when \-\-scenarios is not given
.TP
.B FAULTLINE_PEER
the peer program (default: faultline\-peer beside faultline)
.TP
.B NO_COLOR
when set to anything but the empty string, no colour (no\-color.org)
.TP
.B TERM
colour only on a terminal whose TERM is set and is not "dumb"
.SH FILES
.TP
.I runs/<timestamp>\-<name>/
a run directory: scenario.yaml, events.jsonl, report.json, capture.pcap, thread dumps,
samples.csv, each peer's stderr, and .faultline\-run, the marker that lets a later
run with \-\-out replace it as a whole
ROFF
  echo ".TP"
  echo ".I $(printf '%s' "$FAULTLINE_SCENARIOS" | esc)"
  echo "the installed scenario library"
  echo ".SH SEE ALSO"
  echo "The README of the faultline sources: the scenario language, the run directory, the"
  echo "report's keys."
} >"$out"
