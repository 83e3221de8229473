"""Data fingerprints: was a configuration tuned on this data, changed data, or drifted data?

:func:`fingerprint` records of a data set (NumPy arrays, pandas frames, or files):

* ``exact``: a hash of the content in order (columns, then every row);
* ``rows``: an order-insensitive hash: each row (features and label) is hashed, the row hashes
  sorted, and the sorted list hashed; a reordered copy has the same ``rows`` hash;
* shapes, and per feature its mean, standard deviation, range, missing share and empirical
  CDF at 41 quantile points (so a later data set can be compared without the old one);
* the label's class shares (or, for a continuous label, the same statistics as a feature).

:meth:`Fingerprint.compare` says what kind of data the new set is, relative to the old one:

* ``same``: identical content and order; ``reordered``: the same rows in another order;
* ``drifted``: the columns changed, or a feature or the label moved beyond the thresholds:
  a standardized mean shift ``|μ₁ - μ₀| / √((σ₀² + σ₁²)/2)`` above
  ``max(0.2, 3·√(1/n₀ + 1/n₁))``; a Kolmogorov-Smirnov distance (largest gap between the two
  CDFs at the stored points) above ``max(0.1, 1.95·√((n₀ + n₁)/(n₀·n₁)))`` (1.95: the 0.1%
  critical value, so many features do not raise false alarms); a missing share moved by more
  than 0.05; class shares of the label that differ by a chi-square test of homogeneity
  (p < 0.001) with a total variation distance above 0.05, or a new class holding over 1% of
  the rows;
* ``changed``: other content, no shift beyond the thresholds.

Re-tuning is recommended for drifted data, and for changed data whose row count moved by more
than 20%.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dialed.errors import ConfigError

__all__ = ["DataCheck", "FeatureShift", "Fingerprint", "fingerprint", "fingerprint_pair"]

MEAN_SHIFT = 0.2
KS_DISTANCE = 0.1
KS_CRITICAL = 1.95
MISSING_SHIFT = 0.05
LABEL_TV = 0.05
LABEL_P = 0.001
NEW_CLASS_SHARE = 0.01
ROW_CHANGE = 0.2
_QUANTILES = np.linspace(0.0, 1.0, 41)
_MAX_STATS = 2000  # features with statistics; beyond this only the hashes are kept
_MAX_CLASSES = 50
_GOLDEN = 0x9E3779B97F4A7C15
_M64 = (1 << 64) - 1


@dataclass(frozen=True)
class FeatureShift:
    """How far one feature (or a continuous label) moved between two data sets."""

    feature: str
    mean_shift: float  # standardized
    ks: float
    missing_shift: float
    drifted: bool

    def describe(self) -> str:
        return (f"{self.feature}: mean moved {_fmt(self.mean_shift)} sd, KS distance "
                f"{self.ks:.3f}" + (f", missing share {self.missing_shift:+.3f}"
                                    if self.missing_shift else ""))


@dataclass(frozen=True)
class DataCheck:
    """The verdict of comparing a data set with the one a configuration was tuned on."""

    kind: str  # same, reordered, changed or drifted
    retune: bool
    reasons: tuple[str, ...]
    shifts: tuple[FeatureShift, ...] = ()
    label_shift: float | None = None

    @property
    def message(self) -> str:
        head = {
            "same": "tuned on this data (identical content)",
            "reordered": "tuned on this data, in another row order (the same rows)",
            "changed": "tuned on changed data (different content, no distribution shift "
                       "beyond the thresholds)",
            "drifted": "tuned on data whose distribution has drifted",
        }[self.kind]
        advice = ("re-tune recommended: " + "; ".join(self.reasons)) if self.retune else (
            "no re-tune needed" + (f" ({'; '.join(self.reasons)})" if self.reasons else ""))
        return f"{head}; {advice}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "retune": self.retune, "reasons": list(self.reasons),
                "shifts": [s.__dict__ for s in self.shifts], "label_shift": self.label_shift,
                "message": self.message}


@dataclass(frozen=True)
class Fingerprint:
    """Hashes, shapes and summary statistics of a data set (JSON-serialisable via to_dict)."""

    exact: str
    rows: str
    n_rows: int
    n_features: int
    columns: tuple[str, ...]
    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, Any] | None = None
    source: str = "arrays"

    def to_dict(self) -> dict[str, Any]:
        return {"exact": self.exact, "rows": self.rows, "n_rows": self.n_rows,
                "n_features": self.n_features, "columns": list(self.columns),
                "features": self.features, "labels": self.labels, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fingerprint:
        try:
            return cls(str(data["exact"]), str(data["rows"]), int(data["n_rows"]),
                       int(data["n_features"]), tuple(data.get("columns") or ()),
                       dict(data.get("features") or {}), data.get("labels"),
                       str(data.get("source") or "arrays"))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"not a data fingerprint: {dict(data)!r:.200}") from None

    def compare(self, new: Fingerprint) -> DataCheck:
        """What ``new`` is relative to this (the data a configuration was tuned on)."""
        if new.exact == self.exact:
            return DataCheck("same", False, ())
        if new.rows == self.rows:
            return DataCheck("reordered", False, ())
        if new.columns != self.columns:
            gone = [c for c in self.columns if c not in new.columns]
            added = [c for c in new.columns if c not in self.columns]
            what = "; ".join(x for x in (
                f"removed {', '.join(gone[:5])}" if gone else "",
                f"added {', '.join(added[:5])}" if added else "",
            ) if x) or "reordered columns"
            return DataCheck("drifted", True, (f"the columns changed ({what})",))
        n0, n1 = self.n_rows, new.n_rows
        shifts = []
        for name, old_stats in self.features.items():
            new_stats = new.features.get(name)
            if new_stats is not None and old_stats.get("numeric") and new_stats.get("numeric"):
                shifts.append(_shift(name, old_stats, new_stats, n0, n1))
        drifted = sorted((s for s in shifts if s.drifted),
                         key=lambda s: (-min(s.mean_shift, 1e9), -s.ks))
        reasons = [f"{len(drifted)} of {len(shifts)} features shifted, such as "
                   + "; ".join(s.describe() for s in drifted[:3])] if drifted else []
        label_shift, label_reason = _label_shift(self.labels, new.labels, n0, n1)
        if label_reason:
            reasons.append(label_reason)
        if reasons:
            return DataCheck("drifted", True, tuple(reasons), tuple(drifted[:10]), label_shift)
        moved = abs(n1 - n0) / max(n0, 1)
        notes = [f"{n0} rows before, {n1} now ({(n1 - n0) / max(n0, 1):+.0%})"] \
            if n1 != n0 else ["the same number of rows, some of them different"]
        return DataCheck("changed", moved > ROW_CHANGE, tuple(notes), (), label_shift)


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.2f}"


def _shift(name: str, a: Mapping[str, Any], b: Mapping[str, Any], n0: int,
           n1: int) -> FeatureShift:
    n0, n1 = max(n0, 1), max(n1, 1)
    mu0, mu1 = float(a["mean"]), float(b["mean"])
    pooled = math.sqrt((float(a["std"]) ** 2 + float(b["std"]) ** 2) / 2.0)
    if pooled > 0:
        d = abs(mu1 - mu0) / pooled
    else:
        d = 0.0 if math.isclose(mu0, mu1, rel_tol=1e-12, abs_tol=1e-12) else math.inf
    ks = 0.0
    values, cdf0 = a.get("cdf_at") or [], a.get("cdf") or []
    new_values, new_cdf = b.get("cdf_at") or [], b.get("cdf") or []
    if values and new_values:
        # the new CDF at the old points, by interpolating the new step function's stored points
        f1 = _cdf_at(np.asarray(new_values, float), np.asarray(new_cdf, float),
                     np.asarray(values, float))
        f1_back = _cdf_at(np.asarray(values, float), np.asarray(cdf0, float),
                          np.asarray(new_values, float))
        ks = float(max(np.max(np.abs(f1 - np.asarray(cdf0, float))),
                       np.max(np.abs(np.asarray(new_cdf, float) - f1_back))))
    miss = float(b.get("missing", 0.0)) - float(a.get("missing", 0.0))
    drifted = (
        d > max(MEAN_SHIFT, 3.0 * math.sqrt(1.0 / n0 + 1.0 / n1))
        or ks > max(KS_DISTANCE, KS_CRITICAL * math.sqrt((n0 + n1) / (n0 * n1)))
        or abs(miss) > MISSING_SHIFT
    )
    return FeatureShift(name, d, ks, miss, drifted)


def _cdf_at(points: np.ndarray, cdf: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A step CDF known at ``points`` (sorted), evaluated at ``x`` (right-continuous)."""
    idx = np.searchsorted(points, x, side="right") - 1
    out = np.where(idx >= 0, cdf[np.clip(idx, 0, len(cdf) - 1)], 0.0)
    return np.asarray(out, dtype=float)


def _label_shift(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, n0: int,
                 n1: int) -> tuple[float | None, str]:
    if a is None or b is None:
        if (a is None) != (b is None):
            return None, "the labels were " + ("dropped" if b is None else "added")
        return None, ""
    if a.get("kind") != b.get("kind"):
        return None, f"the labels changed kind ({a.get('kind')} to {b.get('kind')})"
    n0, n1 = max(n0, 1), max(n1, 1)
    if a.get("kind") == "classes":
        p0, p1 = dict(a["shares"]), dict(b["shares"])
        classes = set(p0) | set(p1)
        tv = 0.5 * sum(abs(p0.get(c, 0.0) - p1.get(c, 0.0)) for c in classes)
        new_classes = [c for c in p1 if c not in p0 and p1[c] > NEW_CLASS_SHARE]
        if new_classes:
            return tv, f"new label classes {', '.join(sorted(new_classes)[:5])}"
        if tv > LABEL_TV and len(classes) > 1:
            from scipy import stats

            order = sorted(classes)
            table = np.array([[p0.get(c, 0.0) * n0 for c in order],
                              [p1.get(c, 0.0) * n1 for c in order]]) + 0.5
            p_value = float(stats.chi2_contingency(table)[1])
            if p_value < LABEL_P:
                return tv, (f"the label distribution moved (total variation {tv:.3f}, "
                            f"chi-square p={p_value:.1g})")
        return tv, ""
    shift = _shift("label", a["stats"], b["stats"], n0, n1)
    if shift.drifted:
        return shift.mean_shift, f"the label shifted ({shift.describe()})"
    return shift.mean_shift, ""


# -- computing a fingerprint ------------------------------------------------------------------
def fingerprint(X: Any, y: Any = None) -> Fingerprint:
    """The fingerprint of features ``X`` (and labels ``y``).

    ``X``: a NumPy array (shape ``(n,)`` or ``(n, d)``), a pandas DataFrame, or a path to a
    ``.npy``, ``.npz``, ``.csv``/``.tsv`` or any other file (hashed as text lines). ``y``: an
    array or Series of ``n`` labels, a path, or, with a DataFrame, the name of its label column.
    """
    source = "arrays"
    if isinstance(X, (str, Path)):
        source = f"file:{Path(X).name}"
        X = _load(Path(X))
        if isinstance(X, Fingerprint):
            return X
        if isinstance(X, _Pair):
            X, y = X.X, (X.y if y is None else y)
    if isinstance(y, (str, Path)) and not _is_frame(X):
        y = _load_labels(Path(y))
    columns, cols, ylab = _columns(X, y)
    n = len(cols[0]) if cols else (0 if ylab is None else len(ylab))
    for name, c in zip(columns, cols, strict=True):
        if len(c) != n:
            raise ConfigError(f"fingerprint: column {name!r} has {len(c)} rows, not {n}")
    if ylab is not None and len(ylab) != n:
        raise ConfigError(f"fingerprint: y has {len(ylab)} labels for {n} rows of X")
    words = [_words(c) for c in cols] + ([] if ylab is None else [_words(ylab)])
    matrix = np.stack(words, axis=1) if words else np.zeros((0, 0), dtype=np.uint64)
    header = repr((tuple(columns), ylab is not None, n)).encode()
    exact = hashlib.blake2b(header + np.ascontiguousarray(matrix).tobytes(),
                            digest_size=16).hexdigest()
    row_hashes = np.sort(_row_hashes(matrix))
    rows = hashlib.blake2b(header + row_hashes.tobytes(), digest_size=16).hexdigest()
    features = {name: _stats(c) for name, c in list(zip(columns, cols, strict=True))[:_MAX_STATS]}
    return Fingerprint(exact, rows, n, len(columns), tuple(columns), features,
                       None if ylab is None else _label_stats(ylab), source)


def _is_frame(X: Any) -> bool:
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _columns(X: Any, y: Any) -> tuple[list[str], list[np.ndarray], np.ndarray | None]:
    ylab = None
    if _is_frame(X):
        frame = X
        if isinstance(y, str):
            if y not in frame.columns:
                raise ConfigError(f"fingerprint: y={y!r} is not a column of X "
                                  f"(columns: {', '.join(map(str, frame.columns[:10]))})")
            ylab = np.asarray(frame[y])
            frame = frame.drop(columns=[y])
        columns = [str(c) for c in frame.columns]
        cols = [np.asarray(frame[c]) for c in frame.columns]
    else:
        arr = np.asarray(X)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ConfigError(f"fingerprint: X must be 1-D or 2-D (rows × features), got shape "
                              f"{arr.shape}")
        columns = [f"x{i}" for i in range(arr.shape[1])]
        cols = [arr[:, i] for i in range(arr.shape[1])]
    if y is not None and ylab is None:
        ylab = np.asarray(y)
        if ylab.ndim != 1:
            ylab = ylab.reshape(len(ylab), -1)
            if ylab.shape[1] != 1:
                raise ConfigError(f"fingerprint: y must be one label per row, got shape "
                                  f"{ylab.shape}")
            ylab = ylab[:, 0]
    return columns, cols, ylab


def _numeric(col: np.ndarray) -> bool:
    return col.dtype.kind in "biuf"


def _words(col: np.ndarray) -> np.ndarray:
    """Each value as a 64-bit word: numbers by their float64 bits, others by a hash."""
    if _numeric(col):
        a = col.astype(np.float64)
        a = np.where(a == 0.0, 0.0, a)  # -0.0 and 0.0 are one value
        a = np.where(np.isnan(a), np.nan, a)  # one NaN
        return np.ascontiguousarray(a).view(np.uint64)
    text = np.array([repr(v) if not isinstance(v, str) else v for v in col.tolist()],
                    dtype=object)
    uniq, inverse = np.unique(text.astype(str), return_inverse=True)
    hashed = np.array([int.from_bytes(hashlib.blake2b(u.encode(), digest_size=8).digest(),
                                      "little") for u in uniq.tolist()], dtype=np.uint64)
    return hashed[inverse.reshape(-1)]


def _mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, elementwise on uint64 (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def _row_hashes(matrix: np.ndarray) -> np.ndarray:
    n = matrix.shape[0]
    h = np.full(n, _GOLDEN, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(matrix.shape[1]):
            salt = np.uint64(((j + 1) * _GOLDEN) & _M64)
            h = _mix(h ^ _mix(matrix[:, j] + salt))
    return h


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _stats(col: np.ndarray) -> dict[str, Any]:
    if not _numeric(col):
        return {"numeric": False, "distinct": int(np.unique(col.astype(str)).size)}
    a = col.astype(np.float64)
    finite = a[np.isfinite(a)]
    missing = float(1.0 - finite.size / a.size) if a.size else 0.0
    if finite.size == 0:
        return {"numeric": True, "mean": 0.0, "std": 0.0, "min": None, "max": None,
                "missing": missing, "cdf_at": [], "cdf": []}
    points = np.unique(np.quantile(finite, _QUANTILES))
    srt = np.sort(finite)
    cdf = np.searchsorted(srt, points, side="right") / srt.size
    return {
        "numeric": True,
        "mean": _round(float(finite.mean())),
        "std": _round(float(finite.std())),
        "min": _round(float(finite.min())),
        "max": _round(float(finite.max())),
        "missing": missing,
        "cdf_at": [float(p) for p in points],
        "cdf": [_round(float(c)) for c in cdf],
    }


def _label_stats(y: np.ndarray) -> dict[str, Any]:
    discrete = y.dtype.kind in "biuOUS"
    if y.dtype.kind == "f":
        finite = y[np.isfinite(y)]
        discrete = bool(finite.size) and bool(np.all(finite == np.round(finite))) \
            and np.unique(finite).size <= _MAX_CLASSES
    if discrete:
        values, counts = np.unique(np.array([str(v) for v in y.tolist()]), return_counts=True)
        if values.size <= _MAX_CLASSES or y.dtype.kind in "OUS":
            total = max(int(counts.sum()), 1)
            return {"kind": "classes",
                    "shares": {str(v): _round(float(c) / total)
                               for v, c in zip(values.tolist(), counts.tolist(), strict=True)}}
    return {"kind": "values", "stats": _stats(y)}


def _load(path: Path) -> Any:
    if not path.exists():
        raise ConfigError(f"fingerprint: no such file {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            if "X" in names:
                return z["X"] if "y" not in names else _Pair(z["X"], z["y"])
            return z[names[0]]
    if suffix in (".csv", ".tsv", ".parquet"):
        try:
            import pandas as pd
        except ImportError:
            return _text_fingerprint(path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    return _text_fingerprint(path)


def _load_labels(path: Path) -> Any:
    data = _load(path)
    if isinstance(data, Fingerprint):
        raise ConfigError(f"fingerprint: cannot read labels from {path} (use .npy or .csv)")
    if _is_frame(data):
        return np.asarray(data.iloc[:, 0])
    return np.asarray(data.y if isinstance(data, _Pair) else data)


@dataclass(frozen=True)
class _Pair:
    """Features and labels read from one ``.npz`` file (arrays ``X`` and ``y``)."""

    X: np.ndarray
    y: np.ndarray


def _text_fingerprint(path: Path) -> Fingerprint:
    """A file read as bytes: exact hash of the bytes; rows: the sorted lines (header kept)."""
    data = path.read_bytes()
    lines = data.splitlines()
    exact = hashlib.blake2b(data, digest_size=16).hexdigest()
    rows = hashlib.blake2b(b"\n".join(sorted(lines)), digest_size=16).hexdigest()
    return Fingerprint(exact, rows, len(lines), 0, (), {}, None, f"file:{path.name}")


def fingerprint_pair(data: Any) -> Fingerprint:
    """A fingerprint from what a data loader returned: ``(X, y)``, ``X``, or a Fingerprint."""
    if isinstance(data, Fingerprint):
        return data
    if isinstance(data, Mapping):
        if "X" in data:
            return fingerprint(data["X"], data.get("y"))
        return Fingerprint.from_dict(data)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return fingerprint(data[0], data[1])
    return fingerprint(data)

