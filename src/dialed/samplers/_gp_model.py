"""The Gaussian-process surrogate of :mod:`dialed.samplers._gp`: kernel, MAP fit, posterior.

C. E. Rasmussen and C. K. I. Williams, "Gaussian Processes for Machine Learning", MIT Press
(2006) [GPML]: the Matérn-5/2 kernel (Eq. 4.17), the posterior (Eqs. 2.25-2.26, Algorithm 2.1)
and the gradient of the log marginal likelihood (Eq. 5.9).
C. Hvarfner, E. O. Hellsten and L. Nardi, "Vanilla Bayesian Optimization Performs Great in High
Dimensions", ICML 2024 [HHN]: a log-normal lengthscale prior whose median grows with
``sqrt(D)`` (Sec. 4), so that a high-dimensional model starts smooth rather than wiggly.
I.-K. Yeo and R. A. Johnson, "A new family of power transformations to improve normality or
symmetry", Biometrika 87(4), 954-959 (2000) [YJ]: the output warping.

Inputs live on the unit cube. A model dimension is either *continuous* (a float, or an integer
or stepped value at the centre of its slice of the cube) or *categorical* (the choice's index);
the kernel's squared distance sums ``((x_j - x'_j) / l_j)^2`` over continuous dimensions and
``[c_j != c'_j] / l_j^2`` over categorical ones (a Hamming distance with its own lengthscale,
as in Optuna's GP and in CoCaBO-style kernels), and then

    k(x, x') = s2 * (1 + sqrt(5) r + 5/3 r^2) * exp(-sqrt(5) r)        (GPML Eq. 4.17)

Hyperparameters ``theta = (log l_1 .. log l_D, log s2, log noise)`` maximise the log marginal
likelihood plus the log prior with L-BFGS-B and analytic gradients.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg, optimize

__all__ = [
    "GaussianProcess", "default_theta", "fit_hyperparameters", "one_blas_thread", "warp_losses",
]

_SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2.0 * math.pi)
_JITTER = 1e-8
#: Bounds of theta: lengthscales in [5e-3, 1e2] on the unit cube, signal variance in
#: [1e-2, 1e2] and noise variance in [1e-6, 1] of standardised losses.
_LOG_L_BOUNDS = (math.log(5e-3), math.log(1e2))
_LOG_S2_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_NOISE_BOUNDS = (math.log(1e-6), 0.0)
#: Priors (see :func:`_log_prior`): log l_j ~ N(log(0.35) + log(D)/2, 1); the signal and noise
#: variances of standardised losses ~ Gamma(2, 1) and Gamma(1.1, 30) (shape, rate).
_LOG_L_LOC = math.log(0.35)
_LOG_L_SCALE = 1.0
_S2_GAMMA = (2.0, 1.0)
_NOISE_GAMMA = (1.1, 30.0)


def _lengthscale_prior(dim: int) -> tuple[float, float]:
    """Location and scale of the normal prior on ``log l`` in ``dim`` dimensions."""
    return _LOG_L_LOC + 0.5 * math.log(max(dim, 1)), _LOG_L_SCALE


_BLAS: list[Any] = []


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while fitting: the matrices are small, and several threads on
    a busy machine are many times slower than one (threadpoolctl when installed)."""
    if not _BLAS:
        try:
            _BLAS.append(importlib.import_module("threadpoolctl").ThreadpoolController())
        except ImportError:
            _BLAS.append(None)
    if _BLAS[0] is None:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[Any] = _BLAS[0].limit(limits=1, user_api="blas")
    return limits


# -- output warping -----------------------------------------------------------------------------
def warp_losses(y: np.ndarray) -> np.ndarray:
    """Standardised, Yeo-Johnson-warped losses, shape ``(n,)`` -> ``(n,)``; order preserved.

    The losses are first standardised robustly (median and interquartile range), their bad
    tail compressed logarithmically beyond 3 IQRs above the median (so one diverged run at 1e9
    does not flatten every other loss to one value; the good tail is left as it is), then
    warped by the Yeo-Johnson power transform [YJ] whose exponent maximises the normal
    likelihood, and finally standardised to mean 0 and variance 1. Each step is increasing,
    so the order of the losses (what expected improvement needs) is kept. The exponent is
    bounded to [-2, 1]: below 1 the transform compresses high (bad) losses and stretches low
    (good) ones; above 1 it would do the opposite and blur the differences among the best
    trials, the ones expected improvement must tell apart, so losses with a long good tail
    (a few deep wells in a flat landscape) are left as they are.
    """
    y = np.asarray(y, dtype=float)
    if y.size < 2:
        return np.zeros_like(y)
    med = float(np.median(y))
    q25, q75 = np.percentile(y, [25.0, 75.0])
    scale = float(q75 - q25)
    if scale <= 0.0:
        scale = float(np.std(y))
    if scale <= 0.0 or not math.isfinite(scale):
        return np.zeros_like(y)
    z: np.ndarray = (y - med) / scale
    z = np.asarray(np.where(z > 3.0, 3.0 + np.log1p(np.maximum(z - 3.0, 0.0)), z), dtype=float)
    z = (z - z.mean()) / max(float(z.std()), 1e-12)
    log_jac = float(np.sum(np.sign(z) * np.log1p(np.abs(z))))
    lmbda = optimize.minimize_scalar(
        lambda lm: -_yeo_johnson_llf(lm, z, log_jac), bounds=(-2.0, 1.0), method="bounded",
        options={"xatol": 1e-3},
    ).x
    w = _yeo_johnson(float(lmbda), z)
    sd = float(np.std(w))
    if sd <= 1e-12 or not np.all(np.isfinite(w)):
        return z
    out: np.ndarray = (w - w.mean()) / sd
    return out


def _yeo_johnson(lmbda: float, z: np.ndarray) -> np.ndarray:
    """The Yeo-Johnson transform of ``z`` (``(n,)``) with exponent ``lmbda`` ([YJ] Eq. 2.1)."""
    pos = z >= 0.0
    a = np.log1p(np.abs(z))
    up = a if abs(lmbda) < 1e-8 else np.expm1(lmbda * a) / lmbda
    down = -a if abs(lmbda - 2.0) < 1e-8 else -np.expm1((2.0 - lmbda) * a) / (2.0 - lmbda)
    out: np.ndarray = np.where(pos, up, down)
    return out


def _yeo_johnson_llf(lmbda: float, z: np.ndarray, log_jac: float) -> float:
    """Normal profile log-likelihood of the transformed ``z``; ``log_jac`` is
    ``sum(sign(z) log(1 + |z|))``, the log-Jacobian per unit of ``lmbda - 1``."""
    w = _yeo_johnson(lmbda, z)
    var = float(np.var(w))
    if not var > 0.0 or not math.isfinite(var):
        return -math.inf
    return -0.5 * len(z) * math.log(var) + (lmbda - 1.0) * log_jac


# -- kernel ---------------------------------------------------------------------------------------
def _pair_terms(a: np.ndarray, b: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Per-dimension squared distances, shape ``(n_a, n_b, D)``: ``(a-b)^2`` or ``[a != b]``."""
    diff = a[:, None, :] - b[None, :, :]
    out: np.ndarray = np.where(is_cat, (diff != 0.0).astype(float), diff * diff)
    return out


def _matern(r2: np.ndarray, s2: float) -> tuple[np.ndarray, np.ndarray]:
    """Matérn-5/2 values and ``-dk/d(r^2) * 2``, both shaped like ``r2`` (GPML Eq. 4.17).

    ``r2`` (``>= 0``) is overwritten: the acquisition's optimiser calls this dozens of times
    per suggestion on small arrays, where each NumPy call's overhead counts more than its
    arithmetic, so the values are built in place from one shared ``(1 + s) exp(-s)``.
    """
    s = np.sqrt(r2, out=r2)
    s *= _SQRT5
    e = np.exp(-s)
    # dk/d(r^2) = -s2 * 5/6 * (1 + s) * exp(-s); G = -2 dk/d(r^2) is what the gradients need.
    g = s + 1.0
    g *= e  # (1 + s) e^-s
    k = s * s
    k *= e
    k *= 1.0 / 3.0
    k += g  # (1 + s + s^2 / 3) e^-s
    if s2 != 1.0:
        k *= s2
    g *= s2 * (5.0 / 3.0)
    return k, g


def _matern_values(r2: np.ndarray, s2: float) -> np.ndarray:
    """Matérn-5/2 values only, shaped like ``r2`` (``r2 >= 0``; the values are those of
    :func:`_matern`). Scoring a thousand candidates is a few passes over an ``(m, n)`` array,
    and each temporary saved is one pass and one allocation fewer: the values are the one new
    array, and ``r2`` is left as scratch space (it holds ``exp(-s)``) for the caller to reuse.
    """
    s = np.sqrt(r2, out=r2)
    s *= _SQRT5
    k: np.ndarray = s * s
    k *= 1.0 / 3.0
    k += s
    k += 1.0
    e = np.exp(np.negative(s, out=s), out=s)
    k *= e
    if s2 != 1.0:
        k *= s2
    return k


def _cholesky(k: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of ``k`` (``(n, n)``), adding jitter until it succeeds."""
    jitter = _JITTER
    eye = np.eye(k.shape[0])
    for _ in range(6):
        try:
            out: np.ndarray = linalg.cholesky(k + jitter * eye, lower=True, check_finite=False)
            return out
        except linalg.LinAlgError:
            jitter *= 10.0
    return np.diag(np.sqrt(np.maximum(np.diag(k), 1e-6) + jitter))


def _inverse(chol: np.ndarray) -> np.ndarray:
    """``K⁻¹`` (``(n, n)``) from the lower Cholesky factor of ``K``."""
    inv, info = linalg.lapack.dpotri(chol, lower=1)
    if info != 0:
        out: np.ndarray = linalg.cho_solve((chol, True), np.eye(len(chol)), check_finite=False)
        return out
    lower = np.tril(inv)
    full: np.ndarray = lower + np.tril(inv, -1).T
    return full


# -- fitting --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Problem:
    """What the negative log posterior needs; ``terms`` has shape ``(n * n, D)``."""

    terms: np.ndarray
    y: np.ndarray
    l_prior: tuple[float, float]


def _neg_log_posterior(theta: np.ndarray, p: _Problem) -> tuple[float, np.ndarray]:
    """``-(log p(y | theta) + log p(theta))`` and its gradient in ``theta`` (shape ``(D+2,)``).

    The marginal likelihood is GPML Eq. 2.30 and its gradient GPML Eq. 5.9,
    ``d/dθ log p(y|θ) = 1/2 tr((α αᵀ - K⁻¹) dK/dθ)`` with ``α = K⁻¹ y``.
    """
    n = p.y.shape[0]
    d = theta.shape[0] - 2
    inv_l2 = np.exp(-2.0 * theta[:d])
    s2, noise = math.exp(theta[d]), math.exp(theta[d + 1])
    r2 = (p.terms @ inv_l2).reshape(n, n)
    kf, g = _matern(r2, s2)
    k = kf + noise * np.eye(n)
    chol = _cholesky(k)
    alpha = linalg.cho_solve((chol, True), p.y, check_finite=False)
    value = 0.5 * float(p.y @ alpha) + float(np.log(np.diag(chol)).sum()) + 0.5 * n * _LOG_2PI
    w = _inverse(chol) - np.outer(alpha, alpha)  # d(value)/dθ = 1/2 tr(W dK/dθ)
    # dK/d log l_j = G * t_j / l_j^2 (t_j the pair terms of dimension j)
    grad = np.empty_like(theta)
    grad[:d] = 0.5 * ((w * g).ravel() @ p.terms) * inv_l2
    grad[d] = 0.5 * float(np.sum(w * kf))
    grad[d + 1] = 0.5 * noise * float(np.trace(w))
    lp, lg = _log_prior(theta, d, p.l_prior)
    return value - lp, grad - lg


def _log_prior(
    theta: np.ndarray, d: int, l_prior: tuple[float, float]
) -> tuple[float, np.ndarray]:
    """``log p(theta)`` (up to a constant) and its gradient, shape ``(D+2,)``.

    Lengthscales: a normal on ``log l`` centred at ``log(0.35 sqrt(D))``. The ``sqrt(D)`` is
    HHN's (Sec. 4): the typical distance between points of the unit cube grows like
    ``sqrt(D)``, and a prior that ignores it makes a high-dimensional model needlessly wiggly.
    HHN's own centre, ``exp(sqrt 2) sqrt(D) = 4.1 sqrt(D)``, over-smooths low-dimensional
    problems; the factor 0.35 did better (the runs: benchmarks/results/notes.md, "the
    lengthscale prior"). Signal and noise variances: the gamma
    log-densities ``(a - 1) log v - b v`` of the values themselves (as Optuna's GP), which keep
    the signal near 1 and let a noiseless loss fit a noise near the lower bound, unlike a
    log-normal centred at ``e^-4`` whose pull stops the posterior from
    resolving the best trials.
    """
    t = theta[:d]
    mu, sd = l_prior
    value = -float(np.sum((t - mu) ** 2)) / (2.0 * sd * sd)
    grad = np.empty_like(theta)
    grad[:d] = -(t - mu) / (sd * sd)
    for i, (shape, rate) in ((d, _S2_GAMMA), (d + 1, _NOISE_GAMMA)):
        v = math.exp(theta[i])
        value += (shape - 1.0) * theta[i] - rate * v
        grad[i] = (shape - 1.0) - rate * v
    return value, grad


def default_theta(dim: int) -> list[np.ndarray]:
    """Cold starts for the fit: the prior's median lengthscale and a long one, each ``(D+2,)``."""
    mu, _ = _lengthscale_prior(dim)
    out = []
    for log_l in (mu, mu + 2.0):
        out.append(np.concatenate([np.full(dim, log_l), [0.0, -4.0]]))
    return out


def fit_hyperparameters(
    x: np.ndarray,
    y: np.ndarray,
    is_cat: np.ndarray,
    starts: list[np.ndarray],
    maxiter: int = 200,
) -> np.ndarray:
    """Maximum a posteriori ``theta`` (shape ``(D+2,)``) for inputs ``x`` ``(n, D)``, losses ``y``.

    L-BFGS-B runs from each of ``starts`` (each clipped to the bounds); the best is returned.
    """
    d = x.shape[1]
    terms = _pair_terms(x, x, is_cat).reshape(-1, d)
    problem = _Problem(terms, np.asarray(y, dtype=float), _lengthscale_prior(d))
    bounds = [_LOG_L_BOUNDS] * d + [_LOG_S2_BOUNDS, _LOG_NOISE_BOUNDS]
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    best: tuple[float, np.ndarray] | None = None
    with one_blas_thread():
        for start in starts:
            x0 = np.clip(np.asarray(start, dtype=float), lo, hi)
            res = optimize.minimize(
                _neg_log_posterior, x0, args=(problem,), jac=True, method="L-BFGS-B",
                bounds=bounds, options={"maxiter": maxiter},
            )
            value = float(res.fun)
            if math.isfinite(value) and (best is None or value < best[0]):
                best = (value, np.asarray(res.x, dtype=float))
    return x0 if best is None else best[1]


# -- posterior ------------------------------------------------------------------------------------
class GaussianProcess:
    """The posterior of a zero-mean GP with fixed hyperparameters, given ``(x, y)``.

    ``x`` has shape ``(n, D)``, ``y`` shape ``(n,)``, ``theta`` shape ``(D+2,)``; ``is_cat``
    (shape ``(D,)``) marks categorical dimensions. Predictions are of the latent function
    (without observation noise).

    The inverse ``L⁻¹`` of the Cholesky factor ``K = L Lᵀ`` is formed once, so that a batch of
    query points costs two matrix products (GPML Algorithm 2.1 with ``v = L⁻¹ k*`` computed as
    ``k* L⁻ᵀ``) instead of a triangular solve per call: the acquisition optimiser calls
    :meth:`predict_with_grad` on a handful of points dozens of times per suggestion, where the
    solver's call overhead outweighed its arithmetic (benchmarks/results/gp-cost.md).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, is_cat: np.ndarray, theta: np.ndarray):
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.is_cat = np.asarray(is_cat, dtype=bool)
        self.theta = np.asarray(theta, dtype=float)
        d = self.x.shape[1]
        self.lengthscales = np.exp(self.theta[:d])
        self.signal = math.exp(self.theta[d])
        self.noise = math.exp(self.theta[d + 1])
        inv_l2 = self.lengthscales ** -2.0
        self._cont = np.flatnonzero(~self.is_cat)
        self._cat = np.flatnonzero(self.is_cat)
        self._all_cont = not len(self._cat)
        self._scale = np.sqrt(inv_l2[self._cont])  # continuous coordinates scaled by 1 / l_j
        self._inv_l2_cat = inv_l2[self._cat]
        self._grad_l2 = np.where(self.is_cat, 0.0, inv_l2)  # (D,): the kernel is flat on cats
        self._xs = self.x[:, self._cont] * self._scale
        self._xs_sq = (self._xs * self._xs).sum(1)
        k, _ = self._kernel(self.x)
        self._chol = _cholesky(k + self.noise * np.eye(len(self.y)))
        self._alpha = linalg.cho_solve((self._chol, True), self.y, check_finite=False)
        inv, info = linalg.lapack.dtrtri(self._chol, lower=1)
        if info != 0:  # pragma: no cover - a Cholesky factor has a positive diagonal
            inv = linalg.solve_triangular(self._chol, np.eye(len(self.y)), lower=True,
                                          check_finite=False)
        self._chol_inv_t = np.ascontiguousarray(np.tril(inv).T)  # L⁻ᵀ, (n, n)

    def _sq_dist(self, xq: np.ndarray) -> np.ndarray:
        """Scaled squared distances ``r^2`` from ``xq`` ``(m, D)`` to the data, ``(m, n)``."""
        a = (xq if self._all_cont else xq[:, self._cont]) * self._scale
        r2 = a @ self._xs.T
        r2 *= -2.0
        r2 += (a * a).sum(1)[:, None]
        r2 += self._xs_sq
        if len(self._cat):
            cat = self._cat
            r2 += ((xq[:, None, cat] != self.x[None, :, cat]) * self._inv_l2_cat).sum(-1)
        out: np.ndarray = np.maximum(r2, 0.0, out=r2)
        return out

    def _kernel(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``k(xq, x)`` and ``-2 dk/d(r^2)``, each ``(m, n)``."""
        return _matern(self._sq_dist(xq), self.signal)

    def condition(self, x_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
        """The posterior with ``(x_new, y_new)`` (``(p, D)``, ``(p,)``) added, same theta."""
        return GaussianProcess(
            np.vstack([self.x, x_new]), np.concatenate([self.y, y_new]), self.is_cat,
            self.theta,
        )

    def predict(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance at ``xq`` (``(m, D)``), each of shape ``(m,)``."""
        scratch = self._sq_dist(np.atleast_2d(xq))
        k = _matern_values(scratch, self.signal)
        mean = k @ self._alpha
        # (L⁻¹ kᵀ)ᵀ, (m, n), and its square, written over the scratch: two (m, n) arrays per
        # call instead of six. With a thousand candidates they are megabytes, which glibc's
        # malloc maps afresh (and the kernel zero-fills) each time they grow past its
        # threshold, as they do at every suggestion (benchmarks/results/gp-cost.md).
        v = np.matmul(k, self._chol_inv_t, out=scratch)
        var = np.maximum(self.signal - np.square(v, out=v).sum(1), 1e-12)
        return mean, var

    def predict_with_grad(
        self, xq: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean ``(m,)``, variance ``(m,)`` and their gradients ``(m, D)`` at ``xq`` ``(m, D)``.

        Gradients along categorical dimensions are zero (the kernel is flat between choices).
        """
        xq = np.atleast_2d(xq)
        k, g = self._kernel(xq)
        mean = k @ self._alpha
        v = k @ self._chol_inv_t
        kinv_k = v @ self._chol_inv_t.T  # K⁻¹ k*, (m, n)
        var = np.maximum(self.signal - (v * v).sum(1), 1e-12)
        # dk_i/dx_j = dk/d(r^2) * 2 (x_j - x_ij) / l_j^2 = -g_i (x_j - x_ij) / l_j^2, so for
        # weights w_i: sum_i w_i dk_i/dx_j = -(x_j sum_i g_i w_i - sum_i g_i w_i x_ij) / l_j^2,
        # two matrix products instead of an (m, n, D) array.
        ga = g * self._alpha
        gk = g * kinv_k
        dmean = -(xq * ga.sum(1)[:, None] - ga @ self.x) * self._grad_l2
        dvar = 2.0 * (xq * gk.sum(1)[:, None] - gk @ self.x) * self._grad_l2
        return mean, var, dmean, dvar
