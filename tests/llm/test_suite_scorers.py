"""The suite (reading, splitting, fingerprint), the scorers and their aggregation: no server."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from dialed.errors import ConfigError
from dialed.llm import (
    Budget,
    BudgetLedger,
    BudgetSpent,
    Item,
    Prices,
    ResponseCache,
    Suite,
    accuracy_interval,
    aggregate_item,
    cache_key,
    make_scorer,
    parse_aggregation,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "llm" / "arithmetic.jsonl"


def _write(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "suite.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def _item(answer: object, **metadata: object) -> Item:
    return Item("x", ({"role": "user", "content": "q"},), answer, dict(metadata))


# -- the suite --------------------------------------------------------------------------------
def test_split_is_seeded_stable_and_separate() -> None:
    suite = Suite.from_jsonl(EXAMPLE, seed=0, test_fraction=0.4)
    again = Suite.from_jsonl(EXAMPLE, seed=0, test_fraction=0.4)
    other = Suite.from_jsonl(EXAMPLE, seed=1, test_fraction=0.4)
    val, test = {i.id for i in suite.validation}, {i.id for i in suite.test}
    assert val and test and not val & test
    assert len(suite.shots) == 6 and not {i.id for i in suite.shots} & (val | test)
    assert val == {i.id for i in again.validation}
    assert val != {i.id for i in other.validation}
    assert 0.2 < len(test) / (len(val) + len(test)) < 0.6


def test_adding_items_never_moves_old_ones(tmp_path: Path) -> None:
    rows = [{"id": f"i{n}", "prompt": f"q{n}", "answer": str(n)} for n in range(40)]
    small = Suite.from_records(rows[:30], seed=3)
    big = Suite.from_records(rows, seed=3)
    assert {i.id for i in small.test} <= {i.id for i in big.test}
    pinned = Suite.from_records([*rows, {"id": "p", "prompt": "q", "answer": "1",
                                         "split": "test"}], seed=3)
    assert "p" in {i.id for i in pinned.test}


def test_fingerprint_tells_changed_suites() -> None:
    a = Suite.from_records([{"id": f"i{n}", "prompt": f"q{n}", "answer": str(n)}
                            for n in range(20)], test_fraction=0.2)
    # one answer changed in the validation part (the part fingerprinted) and one in the test
    held, locked = (next(int(it.id[1:]) for it in a.part(p)) for p in ("validation", "test"))

    def changed(k: int) -> Suite:
        return Suite.from_records([{"id": f"i{n}", "prompt": f"q{n}", "answer": str(n + (n == k))}
                                   for n in range(20)], test_fraction=0.2)

    assert a.fingerprint().exact == a.fingerprint().exact
    assert a.fingerprint().exact != changed(held).fingerprint().exact
    assert a.fingerprint("test").exact != changed(locked).fingerprint("test").exact
    assert a.fingerprint().exact == changed(locked).fingerprint().exact


@pytest.mark.parametrize(("line", "words"), [
    ({"id": "a", "prompt": "What is 2 + 2?"}, "line 2: no answer"),
    ({"prompt": "q", "answer": "1"}, "line 2: no id"),
    ({"id": "a", "answer": "1"}, "give either \"prompt\""),
    ({"id": "a", "prompt": "q", "answer": "1", "colour": 1}, "unknown key 'colour'"),
    ({"id": "a", "prompt": "q", "answer": "1", "split": "train"}, "split 'train'"),
    ({"id": "a", "messages": [{"role": "user"}], "answer": "1"}, "each message needs"),
])
def test_bad_lines_are_one_line_each(tmp_path: Path, line: dict[str, object],
                                     words: str) -> None:
    path = _write(tmp_path, [{"id": "ok", "prompt": "q", "answer": "1"}, line])
    with pytest.raises(ConfigError) as info:
        Suite.from_jsonl(path)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "prompt": "q", "answer": "1"}\n{oops\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2: not JSON"):
        Suite.from_jsonl(path)
    with pytest.raises(ConfigError, match="no such file"):
        Suite.from_jsonl(tmp_path / "absent.jsonl")


# -- scorers ----------------------------------------------------------------------------------
def test_exact_normalises() -> None:
    s = make_scorer("exact")
    assert s.score(_item("Paris"), "  paris. ") == 1.0
    assert s.score(_item(["Paris", "Paris, France"]), "Paris, France!") == 1.0
    assert s.score(_item("Paris"), "Lyon") == 0.0


def test_numeric_picks_and_tolerates() -> None:
    last, first = make_scorer("numeric"), make_scorer({"name": "numeric", "pick": "first"})
    assert last.score(_item("12"), "7 + 5 = 12") == 1.0
    assert first.score(_item("12"), "7 + 5 = 12") == 0.0
    assert last.score(_item("1000"), "It is 1,000.") == 1.0
    assert make_scorer({"name": "numeric", "tolerance": 0.5}).score(_item("3"), "3.4") == 1.0
    assert last.score(_item("3"), "3.4") == 0.0
    assert last.score(_item("3"), "three") == 0.0
    assert last.extract(_item("3"), "so 3.0") == "3"


def test_regex_choice_and_json() -> None:
    rx = make_scorer({"name": "regex", "pattern": r"answer:\s*(\w+)"})
    assert rx.score(_item("blue"), "The answer: Blue") == 1.0
    assert make_scorer("regex").score(_item(r"\bcolou?r\b"), "a color") == 1.0
    ch = make_scorer({"name": "choice", "labels": ["positive", "negative", "neutral"]})
    assert ch.score(_item("positive"), "Sentiment: Positive.") == 1.0
    assert ch.score(_item("positive"), "positive or negative") == 0.0  # two labels: no answer
    schema = {"type": "object", "required": ["name", "age"],
              "properties": {"age": {"type": "integer"}}}
    js = make_scorer({"name": "json", "schema": schema})
    assert js.score(_item({"name": "Ann"}), '```json\n{"name": "Ann", "age": 3}\n```') == 1.0
    assert js.score(_item({"name": "Ann"}), '{"name": "Ann", "age": "3"}') == 0.0
    assert js.score(_item({"name": "Ann"}), "no json here") == 0.0


def test_custom_scorer_and_bad_names(tmp_path: Path) -> None:
    custom = make_scorer(lambda item, output: float(len(output) < 5))
    assert custom.score(_item("x"), "abc") == 1.0
    (tmp_path / "myscore.py").write_text("def score(item, output):\n    return 0.5\n")
    assert make_scorer("myscore:score", tmp_path).score(_item("x"), "y") == 0.5
    with pytest.raises(ConfigError, match="scorer 'fuzzy' does not exist \\(valid: exact"):
        make_scorer("fuzzy")
    with pytest.raises(ConfigError, match="unknown option colour"):
        make_scorer({"name": "exact", "colour": 1})


def test_aggregation_mean_majority_pass_at_k() -> None:
    assert aggregate_item(parse_aggregation("mean", 4), [1, 0, 1, 1]) == 0.75
    maj = parse_aggregation("majority", 5)
    # three samples say 7 (wrong), two say 12 (right): the vote is wrong
    assert aggregate_item(maj, [0, 0, 1, 0, 1], ["7", "7", "12", "7", "12"]) == 0.0
    assert aggregate_item(maj, [1, 0, 1], ["12", "7", "12"]) == 1.0
    p2 = parse_aggregation("pass@2", 4)
    # 1 correct of 4: 1 - C(3, 2) / C(4, 2) = 1 - 3/6
    assert aggregate_item(p2, [1, 0, 0, 0]) == pytest.approx(0.5)
    assert aggregate_item(p2, [0, 0, 0, 0]) == 0.0
    assert aggregate_item(p2, [1, 1, 1, 0]) == 1.0
    with pytest.raises(ConfigError, match="k must lie between 1 and samples"):
        parse_aggregation("pass@5", 3)
    with pytest.raises(ConfigError, match="aggregate 'vote' does not exist"):
        parse_aggregation("vote", 3)


def test_accuracy_interval_covers_and_narrows() -> None:
    mean, low, high = accuracy_interval([1] * 30 + [0] * 10)
    assert mean == 0.75 and low < 0.75 < high and low > 0.5 and high < 0.9
    _, low2, high2 = accuracy_interval([1] * 300 + [0] * 100)
    assert high2 - low2 < (high - low) / 2
    m, lo, hi = accuracy_interval([0.5, 1.0, 0.0, 0.5])
    assert m == 0.5 and lo >= 0.0 and hi <= 1.0


def test_prices_table() -> None:
    p = Prices.for_model({"m": {"input": 1.0, "output": 3.0}}, "m")
    assert p is not None and p.cost(1_000_000, 500_000) == pytest.approx(2.5)
    with pytest.raises(ConfigError, match="prices: no entry for model 'smollm2' \\(the table "
                                          "has: gpt\\)"):
        Prices.for_model({"gpt": {"input": 1, "output": 2}}, "smollm2")
    with pytest.raises(ConfigError, match="must be a number >= 0"):
        Prices.for_model({"m": {"input": -1, "output": 2}}, "m")


# -- cache and ledger (files shared between processes) -----------------------------------------
def test_cache_round_trip_and_key(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    k1 = cache_key("http://h/v1", "m", {"a": 1, "b": 2}, 0)
    assert k1 == cache_key("http://h/v1/", "m", {"b": 2, "a": 1}, 0)
    assert k1 != cache_key("http://h/v1", "m", {"a": 1, "b": 2}, 1)
    assert cache.get(k1) is None
    cache.put(k1, {"text": "12"})
    assert cache.get(k1) == {"text": "12"} and len(cache) == 1


def test_ledger_caps_calls_and_dollars(tmp_path: Path) -> None:
    ledger = BudgetLedger(tmp_path / "b.json", Budget(calls=2))
    ledger.reserve(0.0)
    ledger.reserve(0.0)
    with pytest.raises(BudgetSpent, match="budget spent: 2 of 2 calls"):
        ledger.reserve(0.0)
    money = BudgetLedger(tmp_path / "d.json", Budget(dollars=1.0))
    money.reserve(0.6)
    money.settle(-0.5)  # it cost 0.1
    money.reserve(0.8)
    with pytest.raises(BudgetSpent, match=r"\$0\.9000 of \$1"):
        money.reserve(0.2)
    calls, dollars = money.spent()
    assert calls == 2 and math.isclose(dollars, 0.9)
    with pytest.raises(ConfigError, match="budget needs dollars and / or calls"):
        Budget()
