"""Usage: every_constant.py RECORDS.jsonl FIELD N OUT.jsonl (RECORDS: a split of `warpsmith export --to jsonl`;
FIELD: `cpu_forward` for python-to-cpp, `cuda_backward` for python-to-adjoint).

Predictions for issue 19: for each of the first N records, every `const wp::float32 var_N = V;` that FIELD reads
(used on some other line) changed in turn (v -> -2v - 1.5), one completion each. OUT.meta.json lists the changes
in the same order as the lines. Score with every_constant_score.py."""
import json, re, sys

src, field, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = [json.loads(l) for l in open(src)][:n]
meta = []
with open(out, "w") as f:
    for r in rows:
        text = r[field]
        decls = list(re.finditer(r"const wp::float32 (var_\d+) = ([-0-9.e+]+);", text))
        for m in decls:
            if len(re.findall(r"\b" + m.group(1) + r"\b", text)) < 2:
                continue
            v = float(m.group(2))
            bad = text[:m.start(2)] + repr(-2 * v - 1.5) + text[m.end(2):]
            f.write(json.dumps({"id": r["id"], "completion": bad}) + "\n")
            meta.append({"id": r["id"], "var": m.group(1), "value": v, "category": r["category"]})
json.dump(meta, open(out + ".meta.json", "w"))
print(len(rows), "records,", len(meta), "changed completions")
