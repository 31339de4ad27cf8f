#!/usr/bin/env bash
# failures.sh LOG prints, from a `go test` log, each Ginkgo failure's message
# and where it was raised, and each failed Go test, colour codes removed.
# `make test` calls it when tests fail, so the reason is the last thing CI
# prints rather than somewhere above thousands of lines of spec output.
set -euo pipefail

log="$1"
echo "----- why the tests failed (from ${log}) -----"
sed 's/\x1b\[[0-9;]*m//g' "${log}" |
	awk '
		/^[[:space:]]*\[(FAILED|PANICKED|TIMEDOUT|INTERRUPTED)\]/ && !/\] in \[/ { block = 1; lines = 0 }
		block { print; lines++ }
		block && (/^[[:space:]]*In \[/ || lines >= 40) { block = 0; print "" }
		/^(--- FAIL|FAIL[[:space:]]|panic:)/ { print }
	' | tail -n 150
