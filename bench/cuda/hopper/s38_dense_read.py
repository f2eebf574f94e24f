# Session 38: read the dense rows of `flashmla bench --mode sparse --dense-only` runs (s29_common.sh s38_dense_arms:
# FOLDER/dense-<i>-<arm>.json). A line an h_q: each arm's times (us), the FP8 kernel that ran, every other arm's mean
# time over A's, and each run's FP8 / bf16 speed.
#   python3 bench/cuda/hopper/s38_dense_read.py FOLDER
import glob, json, os, sys

runs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'dense-*-*.json'))):
    arm = os.path.basename(f)[:-5].split('-')[2]
    runs.setdefault(arm, []).append({r['h_q']: r for r in json.load(open(f))['dense']})
mean = lambda v: sum(v) / len(v)
for h in sorted(runs['A'][0]):
    t = {arm: [r[h]['us'] for r in rs] for arm, rs in runs.items()}
    arms = ' '.join(f"{arm} {[round(x, 1) for x in v]} ({runs[arm][0][h].get('kernel')})" for arm, v in t.items())
    ratios = ' '.join(f"{arm}/A {mean(v) / mean(t['A']):.3f}" for arm, v in t.items() if arm != 'A')
    speed = ' '.join(f"{arm} {[round(r[h]['speedup_vs_bf16'], 3) for r in runs[arm]]}" for arm in runs)
    print(f"h_q {h:4d} {arms} {ratios} FP8/bf16 speed {speed}")
