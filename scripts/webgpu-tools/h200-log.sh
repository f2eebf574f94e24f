# Sourced by the H200 round scripts: OUT (default /tmp/DEFAULT_OUT_NAME, created), its log $L, `say` (a timestamped
# line to the terminal and the log) and `quiet` (a bench's lines without Dawn's shader-compiler chatter).
#   . "$(dirname "${BASH_SOURCE[0]}")/h200-log.sh" DEFAULT_OUT_NAME
OUT=${OUT:-/tmp/$1}; mkdir -p "$OUT"
L=$OUT/log.txt
say() { echo "== $(date -u +%T) $*" | tee -a "$L"; }
quiet() { grep -v '^\[' | grep -v -i 'warning\|^ *\^\|^ *let \|^ *{ var mc\|^ *subgroupMatrix\|^ *[a-z]\+ = \|^$\|compilation log'; }
