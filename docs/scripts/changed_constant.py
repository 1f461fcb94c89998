"""Usage: changed_constant.py RECORDS.jsonl TASK N OUT.jsonl (RECORDS: a split of `warpsmith export --to jsonl`).

Predictions for issue 19's done-when 1: per record, the stored answer and the same answer with one float
constant changed (v -> -2v - 1.5), chosen uniformly with a per-id seed among the constants the function reads:
a `const wp::float32 var_N = V;` used on some other line (Warp's functions), or a float literal `V.f` of the
thread function (the standalone translation)."""
import json, re, sys, random, hashlib
src, task, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
field = {"python-to-cpp": "cpu_forward", "python-to-adjoint": "cuda_backward", "python-to-cuda": "cuda_forward",
         "python-to-standalone-cuda": "cuda_standalone"}[task]
rows = [r for r in (json.loads(l) for l in open(src)) if r.get(field)][:n]
meta = []
with open(out, "w") as f:
    for r in rows:
        text = r[field]
        f.write(json.dumps({"id": r["id"], "completion": text}) + "\n")
        if task == "python-to-standalone-cuda":
            a = text.find("// One thread of"); b = text.find("#ifdef __CUDACC__", a)
            cands = [m for m in re.finditer(r"(?<![\w.])(\d+\.\d+)f\b", text) if a <= m.start() < b]
            group = 1
        else:
            decls = list(re.finditer(r"const wp::float32 (var_\d+) = ([-0-9.e+]+);", text))
            cands = [m for m in decls if len(re.findall(r"\b" + m.group(1) + r"\b", text)) > 1]
            group = 2
        if not cands:
            meta.append({"id": r["id"], "changed": None}); continue
        rng = random.Random(int(hashlib.sha256((r["id"] + task).encode()).hexdigest()[:16], 16))
        m = rng.choice(cands)
        v = float(m.group(group)); w = -2 * v - 1.5
        rep = repr(w) + ("f" if task == "python-to-standalone-cuda" else "")
        if task == "python-to-standalone-cuda":
            bad = text[:m.start()] + "(" + rep + ")" + text[m.end():]
        else:
            bad = text[:m.start(group)] + repr(w) + text[m.end(group):]
        f.write(json.dumps({"id": r["id"], "completion": bad}) + "\n")
        meta.append({"id": r["id"], "changed": m.group(0), "category": r["category"], "name": r["name"]})
json.dump(meta, open(out + ".meta.json", "w"))
print(len(rows), "records,", sum(1 for m in meta if m["changed"]), "with a changed constant")
