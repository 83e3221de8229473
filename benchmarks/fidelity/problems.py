"""The problems: real learning curves trained epoch by epoch, and multi-fidelity Hartmann.

Each problem yields, for a configuration, its validation loss after every epoch (lower is
better): ``1 - accuracy`` on a held-out split for the scikit-learn models, trained for real
with ``partial_fit`` one epoch at a time (nothing is cached, so stopping early saves the
epochs it claims to save); the function value for Hartmann.

Multi-fidelity Hartmann (Kandasamy et al., "Multi-fidelity Bayesian Optimisation with
Continuous Approximations", ICML 2017, and BoTorch's ``AugmentedHartmann``): the first
coefficient ``alpha_1`` of Hartmann is lowered to ``alpha_1 - 0.1 (1 - s)`` at fidelity
``s = epoch / max_epochs``, so at the full budget it is plain Hartmann with its known minimum
(-3.86278 in 3-D, -3.32237 in 6-D). To make early values misleading as real curves are, a
transient ``0.5 (1 - s)^2 * x_1`` is added: configurations with a large first coordinate look
worse early than they end.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: One parameter: (name, kind, low, high, log) for "float"/"int", (name, "cat", choices).
ParamSpec = tuple[Any, ...]


@dataclass
class Problem:
    """A search space, a resource (epochs from ``min_epochs`` to ``max_epochs``) and curves."""

    name: str
    space: list[ParamSpec]
    max_epochs: int
    min_epochs: int
    eta: int
    #: seed -> (params, model_seed) -> iterator of validation losses, one per epoch
    make: Callable[[int], Callable[[dict[str, Any], int], Iterator[float]]]
    optimum: float | None = None
    note: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def suggest(trial: Any, space: list[ParamSpec]) -> dict[str, Any]:
    """Suggest every parameter through the trial API dialed and Optuna share."""
    out: dict[str, Any] = {}
    for spec in space:
        name, kind = spec[0], spec[1]
        if kind == "float":
            out[name] = trial.suggest_float(name, spec[2], spec[3], log=spec[4])
        elif kind == "int":
            out[name] = trial.suggest_int(name, spec[2], spec[3], log=spec[4])
        else:
            out[name] = trial.suggest_categorical(name, list(spec[2]))
    return out


# -- scikit-learn learning curves ------------------------------------------------------------
def _split(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    xtr, xva, ytr, yva = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(xtr)
    return scaler.transform(xtr), scaler.transform(xva), ytr, yva


def _sgd_curves(data: Callable[[], tuple[np.ndarray, np.ndarray]]) -> Callable[..., Any]:
    def make(seed: int) -> Callable[[dict[str, Any], int], Iterator[float]]:
        x, y = data()
        xtr, xva, ytr, yva = _split(x, y, seed)
        classes = np.unique(y)

        def curve(params: dict[str, Any], model_seed: int) -> Iterator[float]:
            from sklearn.linear_model import SGDClassifier

            model = SGDClassifier(
                loss=params["loss"], alpha=params["alpha"], learning_rate="invscaling",
                eta0=params["eta0"], power_t=params["power_t"],
                random_state=model_seed % (2**31),
            )
            order = np.random.default_rng(model_seed)
            while True:
                idx = order.permutation(len(xtr))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.partial_fit(xtr[idx], ytr[idx], classes=classes)
                yield 1.0 - float(model.score(xva, yva))

        return curve

    return make


SGD_SPACE: list[ParamSpec] = [
    ("alpha", "float", 1e-7, 1e-1, True),
    ("eta0", "float", 1e-5, 1.0, True),
    ("power_t", "float", 0.05, 0.9, False),
    ("loss", "cat", ("hinge", "log_loss", "modified_huber")),
]


def _mlp_curves(data: Callable[[], tuple[np.ndarray, np.ndarray]]) -> Callable[..., Any]:
    def make(seed: int) -> Callable[[dict[str, Any], int], Iterator[float]]:
        x, y = data()
        xtr, xva, ytr, yva = _split(x, y, seed)
        classes = np.unique(y)

        def curve(params: dict[str, Any], model_seed: int) -> Iterator[float]:
            from sklearn.neural_network import MLPClassifier

            model = MLPClassifier(
                hidden_layer_sizes=(params["width"],), alpha=params["alpha"],
                learning_rate_init=params["learning_rate_init"],
                batch_size=params["batch_size"], random_state=model_seed % (2**31),
            )
            while True:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.partial_fit(xtr, ytr, classes=classes)
                yield 1.0 - float(model.score(xva, yva))

        return curve

    return make


MLP_SPACE: list[ParamSpec] = [
    ("width", "int", 4, 128, True),
    ("alpha", "float", 1e-6, 1e-1, True),
    ("learning_rate_init", "float", 1e-5, 1e-1, True),
    ("batch_size", "int", 16, 256, True),
]


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x, y


def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return x, y


def _synthetic(n: int) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def data() -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import make_classification

        x, y = make_classification(
            n_samples=n, n_features=40, n_informative=12, n_redundant=8, n_classes=3,
            n_clusters_per_class=2, flip_y=0.03, class_sep=0.8, random_state=7,
        )
        return x, y

    return data


# -- multi-fidelity Hartmann -------------------------------------------------------------------
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_A3 = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_P3 = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
                       [381, 5743, 8828]])
_A6 = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_P6 = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                       [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann(x: np.ndarray, s: float) -> float:
    """Multi-fidelity Hartmann (3-D or 6-D) at fidelity ``s`` in [0, 1]; plain at ``s = 1``."""
    a, p = (_A3, _P3) if len(x) == 3 else (_A6, _P6)
    alpha = _ALPHA.copy()
    alpha[0] -= 0.1 * (1.0 - s)
    inner = np.sum(a * (x[None, :] - p) ** 2, axis=1)
    return float(-np.sum(alpha * np.exp(-inner)))


def _hartmann_curves(dim: int, max_epochs: int) -> Callable[..., Any]:
    def make(seed: int) -> Callable[[dict[str, Any], int], Iterator[float]]:
        def curve(params: dict[str, Any], model_seed: int) -> Iterator[float]:
            x = np.array([params[f"x{i}"] for i in range(dim)])
            epoch = 0
            while True:
                epoch += 1
                s = min(epoch / max_epochs, 1.0)
                yield hartmann(x, s) + 0.5 * (1.0 - s) ** 2 * x[0]

        return curve

    return make


def _hartmann_space(dim: int) -> list[ParamSpec]:
    return [(f"x{i}", "float", 0.0, 1.0, False) for i in range(dim)]


# -- constructed fidelities: from faithful to misleading ---------------------------------------
#: name -> (noise at the cheapest budget, bias towards a moved optimum at the cheapest budget)
FIDELITIES: dict[str, tuple[float, float]] = {
    "faithful": (0.02, 0.0),  # Spearman's rho of epoch 1 against the final value: 0.99
    "noisy": (0.3, 0.0),  # 0.6
    "biased": (0.05, 0.5),  # 0.2 (0.6 at a third of the budget)
    "misleading": (0.3, 0.6),  # 0.05 (0.16 at a third of the budget)
}
_CENTRE = np.array([0.7, 0.25, 0.6, 0.35])  # the optimum at the full budget
_MOVED = np.array([0.2, 0.8, 0.15, 0.85])  # the optimum the bias pulls low budgets towards
_WEIGHTS = np.array([1.0, 0.8, 0.6, 0.4])


def _bowl(x: np.ndarray, centre: np.ndarray) -> float:
    return float(np.sum(_WEIGHTS * (x - centre) ** 2))


def _constructed_curves(noise: float, bias: float, max_epochs: int) -> Callable[..., Any]:
    """Curves whose low budgets range from faithful to misleading, by construction.

    At budget ``s = epoch / max_epochs`` a configuration's value is its final loss (a weighted
    bowl around ``_CENTRE``) plus a learning-curve decay that all configurations share, plus
    ``(1 - s)`` times a bias towards another bowl (around ``_MOVED``) and noise that depends on
    the configuration and the epoch (seeded): at the full budget exactly the final loss. More
    noise and more bias make the cheap budgets rank configurations less like the full one.
    """
    def make(seed: int) -> Callable[[dict[str, Any], int], Iterator[float]]:
        def curve(params: dict[str, Any], model_seed: int) -> Iterator[float]:
            x = np.array([params[f"x{i}"] for i in range(len(_CENTRE))])
            final, moved = _bowl(x, _CENTRE), _bowl(x, _MOVED)
            key = int.from_bytes(np.round(x, 12).tobytes()[:8], "little") ^ seed
            rng = np.random.default_rng([key % (2**63), seed])
            epoch = 0
            while True:
                epoch += 1
                s = min(epoch / max_epochs, 1.0)
                gap = 1.0 - s
                yield (final + 0.3 * gap + gap * bias * (moved - final)
                       + gap * noise * float(rng.standard_normal()))

        return curve

    return make


def _constructed_space() -> list[ParamSpec]:
    return [(f"x{i}", "float", 0.0, 1.0, False) for i in range(len(_CENTRE))]


def rank_correlation(problem: Problem, seed: int = 0, n: int = 200, epoch: int = 1) -> float:
    """Spearman's rho between the value at ``epoch`` and the final value over ``n`` random
    configurations: how faithful the problem's cheapest budget is (for the report)."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    curve_of = problem.make(seed)
    low, high = [], []
    for i in range(n):
        params = _random_params(problem.space, rng)
        values = list(_take(curve_of(params, i), problem.max_epochs))
        low.append(values[epoch - 1])
        high.append(values[-1])
    return float(spearmanr(low, high).statistic)


def _random_params(space: list[ParamSpec], rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in space:
        name, kind = spec[0], spec[1]
        if kind == "cat":
            out[name] = spec[2][int(rng.integers(len(spec[2])))]
            continue
        low, high, log = spec[2], spec[3], spec[4]
        u = float(rng.random())
        value = math.exp(math.log(low) + u * (math.log(high) - math.log(low))) if log \
            else low + u * (high - low)
        out[name] = round(value) if kind == "int" else value
    return out


def _take(it: Iterator[float], n: int) -> Iterator[float]:
    for _ in range(n):
        yield next(it)


def problems(quick: bool) -> list[Problem]:
    """The problems of a run: four in the quick mode, five (Hartmann-6 too) otherwise."""
    max_epochs = 27 if quick else 81
    big = 6000 if quick else 20000
    out = [
        Problem("SGD-digits", SGD_SPACE, max_epochs, 1, 3, _sgd_curves(_digits),
                note="SGDClassifier, invscaling schedule, 1797 digits (70/30 split)"),
        Problem("MLP-breast-cancer", MLP_SPACE, max_epochs, 1, 3, _mlp_curves(_breast_cancer),
                note="MLPClassifier, one hidden layer, 569 samples (70/30 split)"),
        Problem(f"SGD-synthetic-{big // 1000}k", SGD_SPACE, max_epochs, 1, 3,
                _sgd_curves(_synthetic(big)),
                note=f"SGDClassifier on make_classification, {big} samples x 40 features, "
                     "3 classes"),
        Problem("Hartmann3-mf", _hartmann_space(3), max_epochs, 1, 3,
                _hartmann_curves(3, max_epochs), optimum=-3.86278,
                note="multi-fidelity Hartmann-3, known minimum -3.86278"),
    ]
    for label, (noise, bias) in FIDELITIES.items():
        out.append(Problem(f"Bowl4-{label}", _constructed_space(), max_epochs, 1, 3,
                           _constructed_curves(noise, bias, max_epochs), optimum=0.0,
                           note=f"constructed: a 4-D bowl, low budgets {label} (noise {noise} "
                                f"and bias {bias} towards a moved optimum at the cheapest "
                                "budget, shrinking to none at the full budget)",
                           meta={"fidelity": label}))
    if not quick:
        out.append(Problem("Hartmann6-mf", _hartmann_space(6), max_epochs, 1, 3,
                           _hartmann_curves(6, max_epochs), optimum=-3.32237,
                           note="multi-fidelity Hartmann-6, known minimum -3.32237"))
    for p in out:
        levels = math.log(p.max_epochs / p.min_epochs, p.eta)
        if abs(levels - round(levels)) > 1e-9:
            raise ValueError(f"{p.name}: max/min epochs should be a power of eta")
    return out
