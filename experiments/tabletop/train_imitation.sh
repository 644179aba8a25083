#!/usr/bin/env bash
# Tabletop: hierarchical language/state (+adapt), flat and chain-of-thought on 600 expert demos.
#   experiments/tabletop/train_imitation.sh [RUN_DIR] [key=value ...]      (see experiments/train_imitation.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
run=${1:-runs/tabletop}
shift $(( $# < 1 ? 0 : 1 ))
exec "$here/../train_imitation.sh" "$here/hierarchical.yaml" "$run" "$@"
