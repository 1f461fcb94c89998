

# ---------------------------------------------------------------- the protocol loop (after every op's section)
send({"type": "hello", "protocol": PROTOCOL, "warp_version": wp.config.version, "python": sys.version.split()[0]})

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        req = json.loads(line)
    except json.JSONDecodeError as e:
        send({"id": None, "ok": False, "kind": "internal", "error": f"bad request line: {e}"})
        continue
    if req.get("op") == "shutdown":
        break
    op = req.get("op")
    if op == "process":
        send(process(req))
    elif op == "eval":
        send(evaluate(req))
    else:
        send({"id": req.get("id"), "ok": False, "kind": "internal", "error": f"unknown op {op!r}"})
