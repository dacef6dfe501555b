#!/bin/sh
# Classification accuracy over the labelled fixture corpus.
cd "$(dirname "$0")/../.." || exit 1
exec /usr/bin/python3 tests/integration/classify_accuracy.py
