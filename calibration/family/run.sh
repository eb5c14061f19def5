#!/bin/sh
# Reproduce the family-member fit in calibration/family/fit/ from its settings, the national
# rows of the bundled data and the seed. Run from anywhere, with sd-runner installed (pip
# install .). sd-runner writes no output inside calibration/ but the main fit, so the fit is
# written to a new temporary folder and then moved into place.
set -eu
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sd-runner calibrate \
    --config calibration/family/config.toml \
    --data calibration/data/more_observations.csv \
    --method least-squares \
    --seed 2003 \
    --out "$out/fit"
rm -rf calibration/family/fit
cp -R "$out/fit" calibration/family/fit
