"""Data fingerprints: each kind of change is recognised as what it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from dialed import fingerprint
from dialed.errors import ConfigError
from dialed.workflow import Fingerprint, fingerprint_pair


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X, y


def kind(old: Fingerprint, new: Fingerprint) -> str:
    return old.compare(new).kind


def test_identical_data_is_the_same(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    fp = fingerprint(X, y)
    check = fp.compare(fingerprint(X.copy(), y.copy()))
    assert check.kind == "same" and not check.retune
    assert fp.n_rows == 1797 and fp.n_features == 64 and fp.labels is not None
    assert fingerprint(X.astype(np.float32), y).exact == fp.exact  # the same values


def test_a_reordered_copy_is_the_same_data_reordered(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = digits
    order = np.random.default_rng(0).permutation(len(y))
    old, new = fingerprint(X, y), fingerprint(X[order], y[order])
    assert new.exact != old.exact and new.rows == old.rows
    check = old.compare(new)
    assert check.kind == "reordered" and not check.retune and "another row order" in check.message


def test_a_changed_row_is_changed_data_without_drift(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = digits
    X2 = X.copy()
    X2[100, 10] += 3.0  # one pixel of one image
    check = fingerprint(X, y).compare(fingerprint(X2, y))
    assert check.kind == "changed" and not check.retune and check.shifts == ()
    y2 = y.copy()
    y2[5] = (y2[5] + 1) % 10  # one label
    assert kind(fingerprint(X, y), fingerprint(X, y2)) == "changed"


def test_a_shifted_feature_mean_is_drift(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    X2 = X.copy()
    X2[:, 20] += X[:, 20].std()  # one feature moves by one standard deviation
    check = fingerprint(X, y).compare(fingerprint(X2, y))
    assert check.kind == "drifted" and check.retune
    assert [s.feature for s in check.shifts] == ["x20"]
    assert check.shifts[0].mean_shift == pytest.approx(1.0, abs=0.05)
    assert "x20" in check.message and "re-tune recommended" in check.message


def test_a_different_sample_of_the_same_distribution_is_not_drift(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = digits
    order = np.random.default_rng(1).permutation(len(y))
    a, b = order[:900], order[900:]
    assert kind(fingerprint(X[a], y[a]), fingerprint(X[b], y[b])) == "changed"


def test_label_drift_and_column_changes(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    keep = (y != 3) | (np.arange(len(y)) % 4 == 0)  # three quarters of the 3s gone
    check = fingerprint(X, y).compare(fingerprint(X[keep], y[keep]))
    assert check.kind == "drifted" and any("label distribution" in r for r in check.reasons)
    check = fingerprint(X, y).compare(fingerprint(X[:, :63], y))
    assert check.kind == "drifted" and "columns changed" in check.reasons[0]
    grown = fingerprint(X, y).compare(fingerprint(np.vstack([X, X[:600]]),
                                                  np.concatenate([y, y[:600]])))
    assert grown.kind == "changed" and grown.retune and "+33%" in grown.reasons[0]


def test_frames_and_files(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    frame = pd.DataFrame(X[:200, :5], columns=[f"f{i}" for i in range(5)])
    frame["kind"] = np.where(y[:200] % 2 == 0, "even", "odd")
    frame["label"] = y[:200]
    fp = fingerprint(frame, "label")
    assert fp.columns == ("f0", "f1", "f2", "f3", "f4", "kind") and fp.n_rows == 200
    shuffled = frame.sample(frac=1.0, random_state=0)
    assert kind(fp, fingerprint(shuffled, "label")) == "reordered"
    csv = tmp_path / "d.csv"
    frame.to_csv(csv, index=False)
    assert fingerprint(csv).n_rows == 200 and fingerprint(csv).source == "file:d.csv"
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    assert fingerprint(tmp_path / "X.npy", tmp_path / "y.npy").exact == fingerprint(X, y).exact
    text = tmp_path / "notes.txt"
    text.write_text("a\nb\nc\n")
    reordered = tmp_path / "notes2.txt"
    reordered.write_text("c\na\nb\n")
    assert kind(fingerprint(text), fingerprint(reordered)) == "reordered"
    assert Fingerprint.from_dict(fp.to_dict()) == fp
    assert fingerprint_pair((X, y)).exact == fingerprint(X, y).exact
    with pytest.raises(ConfigError, match="no such file"):
        fingerprint(tmp_path / "missing.npy")
    with pytest.raises(ConfigError, match="labels for"):
        fingerprint(X, y[:10])
    with pytest.raises(ConfigError, match="not a column"):
        fingerprint(frame, "target")
