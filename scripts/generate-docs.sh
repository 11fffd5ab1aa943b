#!/usr/bin/env bash
# Regenerates completions/ and man/ from kfk's and kfkd's command definitions.
# A test fails when the committed files differ from what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin kfk --bin kfkd
kfk="env -u KFK_BOOTSTRAP target/debug/kfk"
$kfk completion bash > completions/kfk.bash
$kfk completion zsh > completions/_kfk
$kfk completion fish > completions/kfk.fish
rm -f man/*.1 man/*.8
$kfk man man
target/debug/kfkd --man-page man
echo "completions/ and man/ regenerated"
