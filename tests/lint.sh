#!/bin/sh
# make lint: formatting, static analysis, banned calls.
cd "$(dirname "$0")/.." || exit 2
rc=0
clang-format --dry-run --Werror src/*/*.c src/*/*.h include/firebreak/*.h || rc=1
cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	-Iinclude --include=/usr/include/cjson/cJSON.h src/*/*.c || rc=1
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol)\s*\(' src/*/*.c; then
	echo "lint: banned calls above"; rc=1
fi
/usr/bin/python3 tests/layers.py || rc=1
[ $rc -eq 0 ] && echo "lint: clean"
exit $rc
