# Each libFuzzer harness (tests/fuzz, built by `make check` into
# build/fuzz/) for a few seconds over a fresh corpus of its seeds: a crash
# on a seed or a quick mutation fails the check.  The long runs are
# `make fuzz` (README "Fuzzing").
. "$(dirname "$0")/lib.sh"
secs=${FUZZ_CHECK_SECONDS:-3}
# The masker's idempotence is checked too (FUZZ_MASK_IDEMPOTENT=1, the
# default; the seeds not-idempotent-* are inputs that once broke it).
for bin in "$top"/build/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	FUZZ_CORPUS="$work/corpus" "$top/tests/fuzz/seed.sh" "$name"
	out="$work/$name.log"
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$bin" -max_total_time="$secs" \
		-timeout=25 -max_len=65536 -artifact_prefix="$work/" \
		"$work/corpus/$name" >"$out" 2>&1; then
		ok "fuzz_$name: $(sed -n 's/^Done \([0-9]*\) runs.*/\1 runs/p' "$out"), no crash"
	else
		notok "fuzz_$name crashed"
		grep -a -E 'ERROR|runtime error|assertion|^    #[0-9] ' "$out" | head -n 20 | sed 's/^/#   /'
	fi
done
[ "$n" -gt 0 ] || notok "no fuzz harness built (make fuzz-build)"
echo "1..$n"
