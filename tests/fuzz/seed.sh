#!/bin/sh
# Seeds build/fuzz/corpus/<name> for each harness named on the command
# line: the hand-picked seeds in tests/fuzz/seeds/<name>/ and the test data
# that fits (tests/data), in the harness's input format.  What libFuzzer
# adds to a corpus stays there between runs (build/ is not committed).
# FUZZ_CORPUS=DIR seeds DIR/<name> instead (make check: a fresh one).
cd "$(dirname "$0")/../.." || exit 2
for name in "$@"; do
	c=${FUZZ_CORPUS:-build/fuzz/corpus}/$name
	mkdir -p "$c"
	[ -d "tests/fuzz/seeds/$name" ] && cp tests/fuzz/seeds/"$name"/* "$c"/
	case $name in
	alertmanager) cp tests/data/alerts/*.json "$c"/ ;;
	rules | mask)
		for f in tests/data/classify/cases/* tests/data/events/*.log tests/data/demo/oom.log \
			tests/data/mask/cases.txt; do
			head -c 4096 "$f" >"$c/data-$(basename "$f")"
		done ;;
	config) cp deploy/firebreak.yaml "$c"/deploy-firebreak.yaml
		cp deploy/rules.yaml "$c"/deploy-rules.yaml ;;
	card)
		for f in tests/data/state/*.json; do
			for b in 000 201 042; do # waiting/en, waiting/ko, done/critical...
				{ printf "\\$b"; cat "$f"; } >"$c/$b-$(basename "$f")"
			done
		done ;;
	yamledit)
		for f in tests/data/yaml/*.yaml; do
			{ printf 'resources.limits.memory\0002Gi\000'; cat "$f"; } >"$c/mem-$(basename "$f")"
			{ printf 'image.tag\000v1.2.3\000'; cat "$f"; } >"$c/tag-$(basename "$f")"
		done ;;
	esac
done
