"""The library default: choose a sampler from the space, the objectives, the budget and history.

The rules follow the practice of Optuna's ``AutoSampler`` (OptunaHub; "AutoSampler: Automatic
Selection of Optimization Algorithms in Optuna", 2024), checked on this library's own samplers:
a Gaussian process is the most sample-efficient while trials are few and the numeric parameters
not many, and with one objective, past its first trials, it takes turns with TPE (a
portfolio, ``_portfolio.py``), which covers the losses with plateaus on which a GP alone
stalls; TPE scales to long runs, to categorical, conditional and pruned trials and to several
objectives; CMA-ES wins long runs over many continuous parameters; a small discrete space
whose every configuration fits in the budget is simply enumerated. The rules are the table
:data:`RULES`, tried in order: the first that holds decides, and its sentence is the reason
recorded with the study (:meth:`AutoSampler.decision`).

Each choice is a concrete sampler built with this sampler's seed, and each is a pure function
of (seed, history, number); so is the choice, so the suggestion for a trial is too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dialed._util import derive_seed
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.samplers._base import Sampler
from dialed.space import CategoricalDistribution, Distribution, FloatDistribution, Space
from dialed.trial import TrialRecord

__all__ = [
    "PAIR", "PAIR_LEAD", "RULES", "SCREENED", "AutoSampler", "Facts", "Rule", "choose", "facts",
]

# The thresholds: where the GP and CMA-ES beat TPE on synthetic checks (benchmarks/results/
# notes.md, "what auto chooses").

#: A Gaussian process while the study has fewer complete trials than this ...
GP_MAX_TRIALS = 300
#: ... and at most this many numeric parameters.
GP_MAX_PARAMS = 16
#: CMA-ES over more numeric parameters (and no categorical one) from this budget on.
CMAES_MIN_BUDGET = 500

# Several objectives: a GP on ParEGO scalarisations first, NSGA-II once the GP's cost grows
# (benchmarks/results/multiobjective.md; the runs in benchmarks/results/notes.md).

#: A Gaussian process for several objectives over at most this many numeric parameters.
MO_GP_MAX_PARAMS = 32
#: What continues a run with several objectives once the GP has GP_MAX_TRIALS complete trials.
MO_AFTER_GP = "nsga2"

# One objective: the GP alone for the first PAIR_LEAD trials, then the GP and TPE in turns
# (benchmarks/results/bbo.md; how the lead was chosen in benchmarks/results/notes.md).

#: The pair for one objective and a modest budget: a GP, then a GP and TPE in turns
#: (_portfolio.py).
PAIR = "gp+tpe"
#: The GP alone proposes this many trials first.
PAIR_LEAD = 64


def _pair_why(f: Facts) -> str:
    turns = (
        "then it and TPE take turns (even trials the GP, odd ones TPE), each fitted on every "
        "trial; the GP refines smooth optima in few trials and TPE keeps the search moving "
        "where the loss has plateaus or steps"
    )
    if f.budget is not None and f.budget <= PAIR_LEAD:
        return (f"a Gaussian process, the most sample-efficient over the first {PAIR_LEAD} "
                f"trials (past them, TPE would take turns with it)")
    return f"a Gaussian process proposes the first {PAIR_LEAD} trials, {turns}"

# Trials screened by a pruner: BOHB's random fraction (Falkner et al. 2018, Alg. 2)
# (benchmarks/results/fidelity.md).

#: With pruned trials the sampler cannot see: TPE for two trials in three, a uniform draw for
#: the third (BOHB).
SCREENED = "tpe+random"

#: The portfolios auto may choose, as the registry builds them (the other choices are plain
#: registry names).
_PORTFOLIOS: dict[str, dict[str, Any]] = {
    PAIR: {"members": ("gp", "tpe"), "lead": PAIR_LEAD},
    SCREENED: {"members": ("tpe", "random", "tpe")},
}


@dataclass(frozen=True)
class Facts:
    """What the choice is made from."""

    n_params: int
    n_numeric: int  # ints and floats that can take more than one value
    n_categorical: int
    grid_size: int | None  # None: some parameter is continuous
    n_objectives: int
    budget: int | None  # trials of this optimize() call; None: open-ended
    n_complete: int
    n_pruned: int
    conditional: bool  # complete trials do not all hold the same parameters
    before_run: bool  # asked by plan() / queue(), when a grid can still be enqueued
    #: the history is a multi-fidelity pruner's BOHB-style view (trials shown at a budget)
    budget_view: bool = False

    @property
    def grid_fits(self) -> bool:
        return (
            self.before_run and self.n_params > 0 and self.grid_size is not None
            and self.budget is not None and self.grid_size <= self.budget
        )


@dataclass(frozen=True)
class Rule:
    """When ``holds``, choose ``sampler``, for the reason ``why`` gives."""

    sampler: str
    holds: Callable[[Facts], bool]
    why: Callable[[Facts], str]


def _budget(f: Facts) -> str:
    return "an open-ended budget" if f.budget is None else f"a budget of {f.budget} trials"


def _params(n: int, kind: str = "") -> str:
    return f"{n} {kind}parameter{'s' if n != 1 else ''}"


#: The decision table, tried in order: the first rule that holds decides. In short:
#:
#: ========================================================================  =============
#: when                                                                      sampler
#: ========================================================================  =============
#: before a run, every parameter discrete and the whole grid fits the budget  grid
#: no parameter known yet (the objective defines them as it runs)             tpe
#: several objectives, <= 32 numeric parameters, fewer than 300 complete      gp (ParEGO)
#:   trials, no conditional parameter, no pruned trial
#: several objectives, 300 complete trials or more                            nsga2
#: several objectives otherwise (conditional, pruned, categorical only)       tpe
#: categorical parameters only                                                tpe
#: conditional parameters                                                     tpe
#: pruned trials, and no BOHB-style view shows them at a budget               tpe+random
#: <= 16 numeric parameters and a budget of <= 300 trials                     gp+tpe (*)
#: <= 16 numeric parameters, fewer than 300 complete trials (budget longer)   gp+tpe (*)
#: pruned trials                                                              tpe+random
#: <= 16 numeric parameters (300 complete trials or more)                     tpe
#: > 16 numeric parameters, none categorical, a budget of >= 500 trials       cmaes
#: anything else                                                              tpe
#: ========================================================================  =============
#:
#: (*) the GP alone for the first 64 trials (PAIR_LEAD), then the GP and TPE in turns.
RULES: tuple[Rule, ...] = (
    Rule("grid",
         lambda f: f.grid_fits,
         lambda f: f"every parameter is discrete and all {f.grid_size} configurations fit in "
                   f"{_budget(f)}: each is tried once"),
    Rule("tpe",
         lambda f: f.n_params == 0,
         lambda f: "no parameter is known yet (the objective defines them as it runs): TPE "
                   "until they are, then the choice is made again"),
    Rule("gp",
         lambda f: f.n_objectives > 1 and 0 < f.n_numeric <= MO_GP_MAX_PARAMS
                   and not f.conditional and f.n_pruned == 0 and f.n_complete < GP_MAX_TRIALS,
         lambda f: f"{f.n_objectives} objectives and {_params(f.n_numeric, 'numeric ')}: a "
                   "Gaussian process on a random scalarisation per trial (ParEGO) found the "
                   "largest hypervolume of the samplers compared up to 200 trials; it runs "
                   f"the first {GP_MAX_TRIALS} trials" + ("" if f.budget is not None
                                                   and f.budget <= GP_MAX_TRIALS else
                                                   f", then {MO_AFTER_GP} carries its front "
                                                   "on")),
    Rule(MO_AFTER_GP,
         lambda f: f.n_objectives > 1 and f.n_complete >= GP_MAX_TRIALS,
         lambda f: f"{f.n_objectives} objectives and {f.n_complete} complete trials: "
                   f"{MO_AFTER_GP} improves the front found so far at a cost per trial that "
                   "stays low"),
    Rule("tpe",
         lambda f: f.n_objectives > 1,
         lambda f: f"{f.n_objectives} objectives with conditional parameters, pruned trials or "
                   "no numeric parameter: TPE fills its good group front by front of the "
                   "Pareto ranking"),
    Rule("tpe",
         lambda f: f.n_categorical > 0 and f.n_numeric == 0,
         lambda f: f"{_params(f.n_categorical, 'categorical ')} and no numeric one: TPE "
                   "models the chance of each choice directly"),
    Rule("tpe",
         lambda f: f.conditional,
         lambda f: "conditional parameters (complete trials hold different parameters): TPE "
                   "models each group of parameters on the trials that hold it"),
    Rule(SCREENED,
         lambda f: f.n_pruned > 0 and not f.budget_view,
         lambda f: _screened_why(f)),
    Rule(PAIR,
         lambda f: f.n_numeric <= GP_MAX_PARAMS and f.budget is not None
                   and f.budget <= GP_MAX_TRIALS and f.n_complete < GP_MAX_TRIALS,
         lambda f: f"{_params(f.n_numeric, 'numeric ')} and {_budget(f)}: {_pair_why(f)}"
                   + _view_why(f)),
    Rule(PAIR,
         lambda f: f.n_numeric <= GP_MAX_PARAMS and f.n_complete < GP_MAX_TRIALS,
         lambda f: f"{_params(f.n_numeric, 'numeric ')} and {_budget(f)}: {_pair_why(f)}, "
                   f"up to {GP_MAX_TRIALS} trials; then TPE alone keeps the cost per trial "
                   "low" + _view_why(f)),
    Rule(SCREENED,
         lambda f: f.n_pruned > 0,
         lambda f: f"{_params(f.n_numeric, 'numeric ')} and {f.n_complete} complete trials, "
                   "screened by a pruner: beyond the Gaussian process's range, "
                   + _screened_why(f)),
    Rule("tpe",
         lambda f: f.n_numeric <= GP_MAX_PARAMS,
         lambda f: f"{_params(f.n_numeric, 'numeric ')} and over {GP_MAX_TRIALS} complete "
                   "trials: TPE keeps the cost per trial low where a Gaussian process slows"),
    Rule("cmaes",
         lambda f: f.n_numeric > GP_MAX_PARAMS and f.n_categorical == 0
                   and f.budget is not None and f.budget >= CMAES_MIN_BUDGET,
         lambda f: f"{_params(f.n_numeric, 'numeric ')}, none categorical, and {_budget(f)}: "
                   "CMA-ES learns how the parameters interact over a long run"),
    Rule("tpe",
         lambda f: True,
         lambda f: f"{_params(f.n_params)} ({f.n_numeric} numeric) and {_budget(f)}: TPE "
                   "scales to many parameters"),
)


def _screened_why(_: Facts) -> str:
    return ("trials are being pruned: TPE learns from pruned trials too, where a Gaussian "
            "process would see only the complete ones; one trial in three is drawn at random "
            "(BOHB's random fraction), so that a configuration stopped early by a misleading "
            "curve is not forgotten for good")


def _view_why(f: Facts) -> str:
    # Rule: with a multi-fidelity pruner's BOHB-style view the GP sees the screened trials at
    # the largest budget with enough of them, and keeps proposing; tpe+random only where no
    # view shows them. Over 20 seeds of the fidelity problems it then ended better than TPE
    # with BOHB's random fraction on the same view (benchmarks/results/notes.md, issue 22
    # part 2; benchmarks/results/fidelity.md).
    if not f.budget_view or f.n_pruned == 0:
        return ""
    return ("; trials are being screened, and the model is fitted on them at the largest "
            "budget the pruner shows enough of (BOHB's view), so it sees the screened trials, "
            "not only the complete ones")


def facts(
    space: Space,
    metrics: MetricSet,
    *,
    budget: int | None,
    history: History | None = None,
) -> Facts:
    """The facts of a run: from the space, the metrics, the budget and (when known) history.

    Without ``history`` the facts are those before a run (from :meth:`Sampler.plan`), the only
    time a grid can be chosen.
    """
    numeric = [d for d in space.values() if not isinstance(d, CategoricalDistribution)]
    complete = () if history is None else history.complete
    keys = {frozenset(t.params) for t in complete}
    return Facts(
        n_params=len(space),
        n_numeric=sum(1 for d in numeric if not d.single),
        n_categorical=len(space) - len(numeric),
        grid_size=_grid_size(space.values()),
        n_objectives=len(metrics.objectives),
        budget=budget,
        n_complete=len(complete),
        n_pruned=0 if history is None else len(history.pruned) + _screened(complete),
        conditional=len(keys) > 1,
        before_run=history is None,
        budget_view=any("fidelity" in t.system_attrs for t in complete),
    )


def _screened(complete: Iterable[TrialRecord]) -> int:
    """Trials a multi-fidelity pruner's BOHB-style view shows as complete at a lower budget.

    That view (:func:`dialed.pruners.fidelity_history`) turns the trials that reached a rung
    into complete ones carrying their value there, tagged with the rung as system attribute
    ``fidelity``; they are screened trials, pruned or not yet, and count as such here.
    """
    return sum(1 for t in complete if t.system_attrs.get("fidelity") not in (None, "full"))


def choose(f: Facts) -> tuple[str, str]:
    """The sampler the first rule that holds names, and its reason."""
    for rule in RULES:
        if rule.holds(f):
            return rule.sampler, rule.why(f)
    raise RuntimeError("the last rule of RULES always holds")  # pragma: no cover


class AutoSampler(Sampler):
    """Chooses a sampler for each trial from what it knows of the run (see :data:`RULES`).

    :meth:`plan` tells it the space, the metrics and the budget; each :meth:`suggest` adds the
    history. The grid is chosen only before a run, in :meth:`plan` / :meth:`queue`, which
    enqueues its cells; once queued it stays the choice. The other choices may change as the
    history grows (a Gaussian process for the first trials, TPE after); each is built once,
    with this sampler's seed and its own defaults (its own start-up design included).
    """

    name = "auto"

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self._budget: int | None = None
        self._metrics: MetricSet | None = None  # known once planned
        self._choice: tuple[str, str] | None = None
        self._queued = False  # the grid's cells were handed to the engine
        self._delegates: dict[str, Sampler] = {}  # each built once, when first chosen

    # -- what the engine calls -------------------------------------------------------------
    def plan(
        self, space: Space, metrics: MetricSet, *, n_trials: int | None, n_jobs: int
    ) -> None:
        self._budget, self._metrics = n_trials, metrics
        self._decide(facts(space, metrics, budget=n_trials))

    def queue(self, space: Space) -> list[dict[str, Any]] | None:
        if self._metrics is not None:
            self._decide(facts(space, self._metrics, budget=self._budget))
        if not self.finite:
            return None
        self._queued = True
        return self._delegate("grid").queue(space)

    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        return self._current(history, space).suggest(history, space, number)

    def suggest_one(
        self,
        history: History,
        name: str,
        distribution: Distribution,
        number: int,
        params: Mapping[str, Any],
    ) -> Any:
        sampler = self._current(history, history.space)
        if sampler.finite:  # a parameter outside the grid (not declared before the run)
            return super().suggest_one(history, name, distribution, number, params)
        return sampler.suggest_one(history, name, distribution, number, params)

    def decision(self) -> dict[str, Any] | None:
        if self._choice is None:
            return None
        return {"sampler": self._choice[0], "reason": self._choice[1]}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "options": {}}

    # -- choosing --------------------------------------------------------------------------
    def _current(self, history: History, space: Space) -> Sampler:
        choice = self._decide(facts(space, history.metrics, budget=self._budget,
                                    history=history))
        return self._delegate(choice)

    def _decide(self, f: Facts) -> str:
        """Apply the table (the grid, once queued, stays); returns the sampler's name."""
        if self._queued:
            return "grid"
        name, reason = choose(f)
        self._choice = (name, reason)
        self.finite = name == "grid"
        return name

    def _delegate(self, name: str) -> Sampler:
        sampler = self._delegates.get(name)
        if sampler is None:
            from dialed.samplers import make_sampler  # the registry imports this module

            options = _PORTFOLIOS.get(name)
            built = (make_sampler(name, seed=self._seed_now()) if options is None
                     else make_sampler("portfolio", seed=self._seed_now(), **options))
            # setdefault: two threads that both build one keep the same (they are equal)
            sampler = self._delegates.setdefault(name, built)
        return sampler

    def _seed_now(self) -> int:
        if self._seed is None:
            self._seed = derive_seed(0)
        return self._seed


def _grid_size(dists: Iterable[Distribution]) -> int | None:
    """How many configurations the space holds, or None when some parameter is continuous."""
    size = 1
    for d in dists:
        if isinstance(d, CategoricalDistribution):
            size *= len(d.choices)
        elif isinstance(d, FloatDistribution):
            if d.single:
                continue
            if d.step is None:
                return None
            size *= round((d.high - d.low) / d.step) + 1
        else:
            size *= (d.high - d.low) // d.step + 1
    return size
