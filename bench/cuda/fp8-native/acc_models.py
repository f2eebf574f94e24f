# The accumulator models on the random and adversarial cases (results/cpu/fp8-native/acc-models.txt); run from the repository root.
import sys, json; sys.path.insert(0,'bench/cuda/fp8-native')
import precision as P
cfgs=[(l,k,kw) for (l,k,kw) in P.configs(True) if ('trunc' in l or 'acc13' in l or l.startswith('FlashMLA (bf16') or l=='Q2 P2 max acc f32')]
out={}
for nm, groups in P.random_cases(False):
    res=P.run_case(groups,cfgs)
    out[nm]={k:v.row() for k,v in res.items()}
    print(nm, {k:(round(v['cos']*1e6,2), float('%.2g'%v['lse']), round(v['ratio_cuda'],3)) for k,v in out[nm].items()}, flush=True)
json.dump(out, open('results/cpu/fp8-native/acc-models.json','w'), indent=1)
