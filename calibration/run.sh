#!/bin/sh
# Reproduce the committed fit in calibration/fit/ from its settings, data and seed.
# Run from anywhere, with sd-runner installed (pip install .); takes about 3 minutes.
set -eu
cd "$(dirname "$0")/.."
sd-runner calibrate \
    --config calibration/config.toml \
    --data calibration/data/zhejiang_observations.csv \
    --data calibration/data/more_observations.csv \
    --method least-squares \
    --seed 2003 \
    --out calibration/fit
