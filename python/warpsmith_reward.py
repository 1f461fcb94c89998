"""A reward for TRL's GRPOTrainer from `warpsmith eval`: one float per completion, by execution.

    from warpsmith_reward import make_reward
    reward = make_reward("dataset", task="python-to-cpp", split="train")
    trainer = GRPOTrainer(model=..., reward_funcs=reward, train_dataset=ds, ...)

The training rows need an `id` column (the record's id; `warpsmith export --to sft` writes it), which TRL passes
to reward functions as a keyword argument. Each call writes the batch as predictions, runs `warpsmith eval` on
them (every completion in its own sandbox, on the record's stored and fresh inputs) and returns 1.0 for a correct
completion, `compile_bonus` for one that compiled but is wrong, 0.0 otherwise. A completion may be a string or
TRL's conversational form (a list of messages; the last assistant turn counts).
"""

import json
import os
import subprocess
import tempfile


def completion_text(completion):
    """The text of a completion: a string, or the content of the last assistant message of a list."""
    if isinstance(completion, str):
        return completion
    for message in reversed(completion):
        if message.get("role") == "assistant":
            return message.get("content", "")
    raise ValueError("a conversational completion without an assistant message")


def make_reward(dataset_dir, task, split="train", warpsmith="warpsmith", workers=None, timeout=120,
                compile_bonus=0.0, python=None, batch_timeout=3600):
    """A reward function `(prompts, completions, id, **kwargs) -> list[float]` for `dataset_dir` and `task`.

    `timeout` is each completion's wall-clock limit inside `warpsmith eval`, `batch_timeout` the whole call's.
    Raises RuntimeError when `warpsmith eval` fails without a report (a bad dataset, an unknown id) or could not
    score a completion for its own reasons (reason `evaluator: ...`): a reward of 0 there would punish the model
    for the evaluator's failure."""

    def reward(prompts, completions, id, **kwargs):
        if len(completions) != len(id):
            raise ValueError(f"{len(completions)} completions for {len(id)} ids")
        with tempfile.TemporaryDirectory(prefix="warpsmith-reward-") as d:
            preds = os.path.join(d, "predictions.jsonl")
            with open(preds, "w", encoding="utf-8") as f:
                for rid, c in zip(id, completions):
                    f.write(json.dumps({"id": rid, "completion": completion_text(c)}) + "\n")
            report = os.path.join(d, "report")
            cmd = [warpsmith, "eval", str(dataset_dir), "--task", task, "--split", split, "--predictions", preds,
                   "--out", report, "--timeout", str(timeout)]
            if workers:
                cmd += ["--workers", str(workers)]
            if python:
                cmd += ["--python", str(python)]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=batch_timeout)
            results = os.path.join(report, "results.jsonl")
            if not os.path.exists(results):
                raise RuntimeError(f"warpsmith eval failed (exit {done.returncode}): {done.stderr.strip()}")
            by_line = {}
            with open(results, encoding="utf-8") as f:
                for line in f:
                    r = json.loads(line)
                    if (r.get("reason") or "").startswith("evaluator:"):
                        raise RuntimeError(f"warpsmith eval could not score id {r['id']}: {r['reason']}")
                    by_line[r["line"]] = 1.0 if r["correct"] else (compile_bonus if r["compiled"] else 0.0)
        return [by_line[i + 1] for i in range(len(completions))]

    return reward
