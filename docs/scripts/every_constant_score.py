"""Usage: every_constant_score.py EVAL_OUT_DIR PREDICTIONS.jsonl.meta.json: of every_constant.py's completions, how
many `warpsmith eval` still scores correct, and how many records have every changed constant fail."""
import collections, json, sys

res = sorted((json.loads(l) for l in open(sys.argv[1] + "/results.jsonl")), key=lambda r: r["line"])
meta = json.load(open(sys.argv[2]))
assert len(res) == len(meta), (len(res), len(meta))
per = collections.defaultdict(lambda: [0, 0])
for r, m in zip(res, meta):
    assert r["id"] == m["id"]
    per[m["id"]][0] += 1
    per[m["id"]][1] += bool(r["correct"])
total, survived = sum(p[0] for p in per.values()), sum(p[1] for p in per.values())
print(f"completions {total}, still correct {survived} ({100 * survived / max(total, 1):.1f} %); "
      f"records {len(per)}, with every constant mattering {sum(1 for p in per.values() if p[1] == 0)}")
print("per record (still correct, changed):", sorted((p[1], p[0]) for p in per.values()))
