"""Usage: changed_constant_score.py EVAL_OUT_DIR PREDICTIONS.jsonl.meta.json [x]: stored answers correct, changed
constants still correct (and, with a third argument, the survivors listed)."""
import json, sys, collections
res = [json.loads(l) for l in open(sys.argv[1] + "/results.jsonl")]
meta = {m["id"]: m for m in json.load(open(sys.argv[2]))}
by = collections.defaultdict(list)
for r in res: by[r["id"]].append(r)
stored_ok = changed = survived = 0; bad_stored = []; surv = []
for i, rs in by.items():
    rs.sort(key=lambda r: r["line"])
    if rs[0]["correct"]: stored_ok += 1
    else: bad_stored.append((i[:12], rs[0]["category"], rs[0]["reason"][:200] if rs[0]["reason"] else None))
    if len(rs) > 1:
        changed += 1
        if rs[1]["correct"]: survived += 1; surv.append((meta[i].get("category"), meta[i].get("name"), meta[i]["changed"], i))
print(f"stored correct {stored_ok}/{len(by)}; changed still correct {survived}/{changed} ({100*survived/max(changed,1):.1f} %)")
for b in bad_stored: print("STORED FAIL", b)
if len(sys.argv) > 3:
    for s in surv: print("SURV", *s)
