# S folded into f32 after every e4m3 wgmma under the 14-bit models (results/cpu/fp8-native/fold-every-wgmma.txt); run from the root.
import sys, json; sys.path.insert(0,'bench/cuda/fp8-native')
import precision as P
cfgs=[('S trunc1 (fold every wgmma), P f32','native',dict(TQ=2,TP=-1,acc='trunc1')),('S acc131 (fold every wgmma), P f32','native',dict(TQ=2,TP=-1,acc='acc131')),
      ('S acc13 (fold per block), P f32','native',dict(TQ=2,TP=-1,acc='acc13'))]
cases=[c for c in P.random_cases(False) if ('dense' in c[0] and 'n2048' not in c[0]) or 'tiny P' in c[0] or 'V scales' in c[0]]
out={}
for nm, groups in cases:
    res=P.run_case(groups,cfgs); out[nm]={k:v.row() for k,v in res.items()}
    print(nm.ljust(40), ' | '.join(f"{k[:28]}: {v['cos']:.2e} {v['lse']:.1e} {v['ratio_cuda']:.2f}" for k,v in out[nm].items()), flush=True)
json.dump(out, open('results/cpu/fp8-native/fold-every-wgmma.json','w'), indent=1)
