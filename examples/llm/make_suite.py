"""Write arithmetic.jsonl, the example suite: short arithmetic questions generated here (seeded),
not downloaded. python examples/llm/make_suite.py rewrites the same file.

60 scored items (additions, subtractions and products of small numbers, in a few phrasings),
split by the suite's seed into validation and a locked test part, and 6 worked examples
(``"split": "shots"``) for the few_shot dial. SmolLM2-135M answers the easy ones, misses the
harder ones, and its accuracy moves with temperature, the system prompt, few-shot examples and
max_tokens: there is something to tune.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHRASES = ("What is {a} {op} {b}?", "Compute {a} {op} {b}.", "{a} {op} {b} = ?")


def _question(rng: random.Random) -> tuple[str, int, str]:
    op = rng.choice(["+", "+", "-", "*"])
    if op == "*":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        value = a * b
    elif op == "+":
        a, b = rng.randint(1, 40), rng.randint(1, 40)
        value = a + b
    else:
        a = rng.randint(10, 60)
        b = rng.randint(1, a)
        value = a - b
    return rng.choice(PHRASES).format(a=a, op=op, b=b), value, op


def main() -> None:
    rng = random.Random(20)
    lines = []
    seen = set()
    while len(lines) < 60:
        text, value, op = _question(rng)
        if text in seen:
            continue
        seen.add(text)
        lines.append({"id": f"q{len(lines):03d}", "prompt": text, "answer": str(value),
                      "metadata": {"op": op}})
    for i in range(6):
        text, value, op = _question(rng)
        lines.append({"id": f"shot{i}", "prompt": text, "answer": str(value), "split": "shots"})
    out = HERE / "arithmetic.jsonl"
    out.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    print(f"wrote {len(lines)} lines to {out}")


if __name__ == "__main__":
    main()
