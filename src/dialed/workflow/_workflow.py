"""The disciplined procedure on one study: baseline, stages, confirm, the locked test.

Every step is stored in the study before and after it runs (study attributes ``workflow:*``
and trials tagged with their step), so it survives a crash: running a step again resumes it
where the storage says it stopped, and never enqueues a configuration twice.

1. **Baseline** (:meth:`Workflow.run_baseline`): the named configuration, evaluated ``repeats``
   times with fresh seeds. It is the first incumbent.
2. **Stages** (:meth:`Workflow.run_stage`): each tunes the parameters of its families for a
   budget while the others stay at the incumbent (:class:`StageSampler`); the stage's best
   configuration is evaluated ``repeats`` times and compared with the incumbent's evaluations
   (Welch's interval); it becomes the incumbent when its mean is better.
   :meth:`Workflow.search` is an unstaged stage: all families at once, gain not attributable.
3. **Confirm** (:meth:`Workflow.confirm`): the top ``K`` configurations by mean, each
   evaluated with ``R`` fresh seeds; the best confirmed mean is recommended, and marked
   unstable when its interval overlaps the baseline's.
4. **Verify** (:meth:`Workflow.verify`): the recommended configuration scored once by the test
   function on untouched data. A second look is refused unless forced, and a forced one stays
   recorded. Nothing else calls the test function.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dialed._util import derive_seed, now, one_line
from dialed.analysis import gain, welch
from dialed.errors import ConfigError, SpaceError, WorkflowError
from dialed.history import config_key
from dialed.metrics import Metric, Target
from dialed.samplers import Sampler, make_sampler
from dialed.space import Space
from dialed.study import Study
from dialed.trial import Trial, TrialRecord, TrialState
from dialed.workflow._evaluate import ROLE, DeclaredFirst, evaluate
from dialed.workflow._plan import PLAN_KEY, Plan, StagePlan, check_repeats, parse_targets
from dialed.workflow._records import (
    Candidate,
    ConfirmResult,
    Evaluation,
    StageResult,
    VerifyResult,
)
from dialed.workflow._stages import StageSampler, stage_parameters

if TYPE_CHECKING:
    from dialed.workflow._summary import Summary

__all__ = [
    "BASELINE_KEY",
    "DATA_KEY",
    "INCUMBENT_KEY",
    "STUDY_FILE_ATTR",
    "TestFunction",
    "Workflow",
    "confirm_key",
    "stage_key",
    "verify_key",
    "verify_rule",
]

#: Where ``dialed run`` records the study file's objective, directory and declared space
#: (:data:`dialed.config.STUDY_FILE_ATTR`).
STUDY_FILE_ATTR = "study_file"
BASELINE_KEY = "workflow:baseline"
INCUMBENT_KEY = "workflow:incumbent"
DATA_KEY = "workflow:data"

Objective = Callable[[Trial], Any]
#: ``test(params, seed)`` scores a configuration on the untouched test data; it returns what an
#: objective returns (a number for the primary objective, or a mapping of metric names).
TestFunction = Callable[[dict[str, Any], int], Any]

#: How far the test value may fall behind the confirmed validation mean before the gap is
#: flagged: the larger of the 95% prediction half-width of one more run
#: (``t_{R-1} · s · √(1 + 1/R)``: seed noise) and ``GAIN_SHARE`` of the confirmed gain over the
#: baseline (a gap that small leaves most of what tuning found on validation standing).
GAIN_SHARE = 0.25


def stage_key(index: int) -> str:
    return f"workflow:stage:{index}"


def confirm_key(round_: int) -> str:
    return f"workflow:confirm:{round_}"


def verify_key(number: int) -> str:
    return f"workflow:verify:{number}"


def verify_rule() -> str:
    return ("flagged when the test value is worse than the confirmed validation mean by more "
            "than both the 95% prediction half-width of one more run (t·s·√(1+1/R), seed "
            f"noise) and {GAIN_SHARE:g} of the confirmed gain over the baseline")


def _numbered(attrs: Mapping[str, Any], prefix: str) -> list[tuple[int, Any]]:
    out = []
    for key, value in attrs.items():
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            out.append((int(key[len(prefix):]), value))
    return sorted(out, key=lambda kv: kv[0])


class Workflow:
    """The workflow of one study. ``objective`` is needed only by steps that run trials.

    ``baseline`` is a whole configuration; ``targets`` are goals such as ``"val_acc >= 0.97"``;
    ``repeats`` is the number of seeds per evaluation (>= 2); ``stages`` the planned stages
    (:class:`StagePlan` or mappings such as ``{"families": ["optimizer"], "trials": 20}``);
    ``space`` a declared space suggested before the objective runs (as in a study file). Given
    values are stored in the study; left out, the stored ones apply.
    """

    def __init__(
        self,
        study: Study,
        objective: Objective | None = None,
        *,
        baseline: Mapping[str, Any] | None = None,
        targets: Sequence[str | Target] | None = None,
        repeats: int | None = None,
        stages: Sequence[StagePlan | Mapping[str, Any]] | None = None,
        space: Space | Mapping[str, Any] | None = None,
        n_jobs: int = 1,
        catch: bool = True,
        show_progress: bool = False,
        confidence: float = 0.95,
    ) -> None:
        self.study = study
        self.objective = objective
        self.n_jobs = n_jobs
        self.catch = catch
        self.show_progress = show_progress
        self.confidence = confidence
        stored = Plan.from_dict(study.attrs.get(PLAN_KEY))
        declared = None
        if space is not None:
            declared = (space if isinstance(space, Space) else Space.from_dict(space)).to_dict()
        plan = stored.updated(
            targets=None if targets is None else parse_targets(targets, study.metrics),
            repeats=None if repeats is None else check_repeats(repeats),
            stages=None if stages is None else tuple(_stage_plan(s) for s in stages),
            space=declared,
        )
        if baseline is not None:
            plan = plan.updated(baseline=self._checked_baseline(baseline, plan))
        self._save_plan(plan, stored)

    # -- the plan --------------------------------------------------------------------------
    @property
    def plan(self) -> Plan:
        return Plan.from_dict(self.study.attrs.get(PLAN_KEY))

    def record_sources(
        self,
        *,
        objective: str | None = None,
        test: str | None = None,
        data: str | None = None,
        base_dir: str | None = None,
    ) -> None:
        """Store where the objective, the test function and the data loader live."""
        stored = self.plan
        self._save_plan(stored.updated(objective=objective, test=test, data=data,
                                       base_dir=base_dir), stored)

    def _save_plan(self, plan: Plan, stored: Plan) -> None:
        if (stored.baseline is not None and plan.baseline is not None
                and config_key(stored.baseline) != config_key(plan.baseline)
                and self._attr(BASELINE_KEY) is not None):
            raise WorkflowError(
                f"study {self.study.name!r} already evaluated the baseline {stored.baseline}; "
                "it cannot change now (start a new study for another baseline)"
            )
        if plan.to_dict() != stored.to_dict():
            self.study.storage.set_study_attr(self.study.study_id, PLAN_KEY, plan.to_dict())

    def _checked_baseline(self, baseline: Mapping[str, Any], plan: Plan) -> dict[str, Any]:
        if not isinstance(baseline, Mapping) or not baseline:
            raise ConfigError(f"baseline must be a mapping of parameter names to values, "
                              f"got {baseline!r}")
        space = Space(plan.space) if plan.space else self.study.space
        if not len(space):
            return dict(baseline)
        try:
            checked = space.validate({k: v for k, v in baseline.items() if k in space})
        except SpaceError as exc:
            raise ConfigError(f"baseline: {exc}") from None
        if plan.space:
            unknown = sorted(set(baseline) - set(space))
            if unknown:
                raise ConfigError(f"baseline: {', '.join(unknown)} not in the declared space "
                                  f"(its parameters are {', '.join(space)})")
            missing = [n for n in space if n not in baseline]
            if missing:
                raise ConfigError(
                    f"baseline: no value for {', '.join(missing)}; a baseline is a whole "
                    "configuration (name every parameter of the space)"
                )
        return {**dict(baseline), **checked}

    # -- reading the stored steps ----------------------------------------------------------
    def _attr(self, key: str) -> Any:
        return self.study.attrs.get(key)

    @property
    def metric(self) -> Metric:
        """The primary objective, which every step measures."""
        if self.study.metrics.multi_objective:
            raise ConfigError(
                f"study {self.study.name!r} has {len(self.study.metrics.objectives)} objectives; "
                "the workflow measures one: make the others 'track' or constraints"
            )
        return self.study.metrics.primary

    def baseline(self) -> Evaluation | None:
        rec = self._attr(BASELINE_KEY)
        return None if rec is None else Evaluation.from_dict(rec)

    def incumbent(self) -> Evaluation | None:
        """The configuration the next stage starts from (the baseline before any stage)."""
        rec = self._attr(INCUMBENT_KEY)
        return self.baseline() if rec is None else Evaluation.from_dict(rec)

    def stages(self) -> list[StageResult]:
        """The finished stages, in order."""
        return [StageResult.from_dict(v) for _, v in _numbered(self.study.attrs,
                                                                 "workflow:stage:")
                if v.get("status") == "done"]

    def confirmations(self) -> list[ConfirmResult]:
        return [ConfirmResult.from_dict(v) for _, v in _numbered(self.study.attrs,
                                                                   "workflow:confirm:")
                if v.get("status") == "done"]

    def verifications(self) -> list[VerifyResult]:
        """Every evaluation on the test data (started, done or failed), in order."""
        return [VerifyResult.from_dict(v) for _, v in _numbered(self.study.attrs,
                                                                  "workflow:verify:")]

    def recommended(self) -> Candidate | None:
        """The latest confirm round's recommendation."""
        rounds = self.confirmations()
        return rounds[-1].recommended if rounds else None

    # -- running ---------------------------------------------------------------------------
    def _objective(self) -> Objective:
        if self.objective is None:
            raise ConfigError(
                f"study {self.study.name!r}: this step runs trials and needs the objective "
                "(Workflow(study, objective), or --objective module:function)"
            )
        space = self.plan.space
        if space is None:  # a plain study file's declared space, as dialed run recorded it
            recorded = self.study.attrs.get(STUDY_FILE_ATTR)
            if isinstance(recorded, Mapping) and isinstance(recorded.get("space"), Mapping):
                space = dict(recorded["space"])
        return DeclaredFirst(space, self.objective)

    def _evaluate(self, step: str, role: str, configs: Sequence[Mapping[str, Any]],
                  repeats: int) -> list[Evaluation]:
        digest = hashlib.sha1("|".join(config_key(c) for c in configs).encode()).hexdigest()[:10]
        groups = evaluate(self.study, self._objective(), step=step, role=role, configs=configs,
                          repeats=repeats, n_jobs=self.n_jobs, show_progress=self.show_progress,
                          once=f"{step}:{digest}")
        return [Evaluation.from_trials(c, g) for c, g in zip(configs, groups, strict=True)]

    def run_baseline(self) -> Evaluation:
        """Evaluate the baseline ``repeats`` times (once: later calls return the stored one)."""
        done = self.baseline()
        if done is not None:
            return done
        plan = self.plan
        if plan.baseline is None:
            raise ConfigError(
                f"study {self.study.name!r} names no baseline: give baseline={{...}} (or "
                "'baseline:' in the study file), a whole configuration to start from"
            )
        _ = self.metric
        [ev] = self._evaluate("baseline", "baseline", [plan.baseline], plan.repeats)
        extra = self._unnamed_params(ev, plan.baseline)
        if extra:
            raise ConfigError(
                f"baseline: the objective also suggests {', '.join(extra)}, which the baseline "
                "does not name; a baseline is a whole configuration (name every parameter)"
            )
        self.study.storage.set_study_attr(self.study.study_id, BASELINE_KEY, ev.to_dict())
        return ev

    def _unnamed_params(self, ev: Evaluation, named: Mapping[str, Any]) -> list[str]:
        extra: set[str] = set()
        for number in ev.trials:
            extra |= set(self.study.storage.get_trial_by_number(
                self.study.study_id, number).params) - set(named)
        return sorted(extra)

    def search(self, trials: int | None = None, timeout: float | None = None) -> StageResult:
        """An unstaged search (all families at once): measured, but not attributable."""
        return self.run_stage(None, trials=trials, timeout=timeout)

    def run(self) -> list[StageResult]:
        """Run the stored plan: the baseline, then each planned stage not yet done."""
        plan = self.plan
        self.run_baseline()
        done = {s.index: s for s in self.stages()}
        out = []
        for i, stage in enumerate(plan.stages, start=1):
            if i in done:
                self._check_same_stage(done[i], stage)
                out.append(done[i])
                continue
            out.append(self.run_stage(stage.families, trials=stage.trials,
                                      timeout=stage.timeout, name=stage.name))
        return out

    @staticmethod
    def _check_same_stage(result: StageResult, stage: StagePlan) -> None:
        if result.families != stage.families:
            raise WorkflowError(
                f"stage {result.index} was run on {result.families or 'all families'}; the plan "
                f"now says {stage.families or 'all families'} (start a new study to re-plan)"
            )

    def run_stage(
        self,
        families: Sequence[str] | str | None,
        *,
        trials: int | None = None,
        timeout: float | None = None,
        name: str | None = None,
    ) -> StageResult:
        """Tune ``families`` (``None``: all) for a budget with the rest at the incumbent.

        The next stage in order; an interrupted one is resumed (it must tune the same
        families). Returns the stage with its candidate's measured gain over the incumbent.
        """
        spec = StagePlan(None if families is None else
                         ((families,) if isinstance(families, str) else tuple(families)),
                         trials, timeout, name)
        self.run_baseline()
        metric = self.metric
        open_stage = [(i, v) for i, v in _numbered(self.study.attrs, "workflow:stage:")
                      if v.get("status") != "done"]
        storage, sid = self.study.storage, self.study.study_id
        if open_stage:
            index, rec = open_stage[0]
            fams = rec.get("families")
            if (None if fams is None else tuple(fams)) != spec.families:
                raise WorkflowError(
                    f"stage {index} ({rec.get('name')}) was interrupted; resume it first (it "
                    f"tunes {fams or 'all families'}, not {spec.families or 'all families'})"
                )
        else:
            index = len(_numbered(self.study.attrs, "workflow:stage:")) + 1
            start = self.incumbent()
            if start is None:  # unreachable: run_baseline stored one
                raise WorkflowError("no incumbent to start the stage from")
            space = self.study.space
            tuned = stage_parameters(space, spec.families)
            if not tuned:
                fams = sorted(f for f in space.families() if f)
                raise ConfigError(
                    f"stage {spec.label!r}: no parameter of family "
                    f"{', '.join(spec.families or ())} in the space (its families are "
                    f"{', '.join(fams) or 'none: give parameters a family'})"
                )
            rec = {
                "index": index, "name": spec.label,
                "families": None if spec.families is None else list(spec.families),
                "tuned": tuned, "budget": {"trials": spec.trials, "timeout": spec.timeout},
                "first_number": storage.count_trials(sid), "start": start.to_dict(),
                "status": "searching", "started_at": now(),
            }
            if not storage.set_study_attr_if_absent(sid, stage_key(index), rec):
                raise WorkflowError(f"stage {index} was started by another process at the "
                                    "same time; run one workflow per study at a time")
        start = Evaluation.from_dict(rec["start"])
        if rec["status"] == "searching":
            rec = self._search_stage(index, rec, start, spec)
        if rec["status"] == "evaluating":
            rec = self._evaluate_stage(index, rec, start, metric)
        return StageResult.from_dict(rec)

    def _stage_trials(self, rec: Mapping[str, Any]) -> list[TrialRecord]:
        first = int(rec["first_number"])
        last = rec.get("last_number")
        return [t for t in self.study.trials
                if t.number >= first and (last is None or t.number <= last)
                and not t.system_attrs.get(ROLE)]

    def _inner_sampler(self, index: int) -> Sampler:
        desc = dict(self.study.attrs.get("sampler") or {})
        name = desc.get("name")
        if isinstance(name, str):
            try:
                return make_sampler(name, seed=derive_seed(self.study.seed, "stage", index),
                                    **dict(desc.get("options") or {}))
            except (ConfigError, TypeError):
                pass
        return self.study.sampler

    def _search_stage(self, index: int, rec: dict[str, Any], start: Evaluation,
                      spec: StagePlan) -> dict[str, Any]:
        metric = self.metric
        budget = rec.get("budget") or {}
        n_trials, timeout = budget.get("trials"), budget.get("timeout")
        ran = [t for t in self._stage_trials(rec) if t.state.finished]
        remaining = None if n_trials is None else max(0, int(n_trials) - len(ran))
        if remaining is None or remaining > 0:
            sampler = StageSampler(
                self._inner_sampler(index), rec["tuned"], start.params,
                first_number=int(rec["first_number"]), start_numbers=start.trials,
                label=f"stage:{index}",
            )
            sampler.bind_seed(self.study.seed)
            runner = Study(dataclasses.replace(self.study.context, sampler=sampler))
            runner.optimize(self._objective(), n_trials=remaining, timeout=timeout,
                            n_jobs=self.n_jobs, catch=(Exception,) if self.catch else (),
                            show_progress=self.show_progress)
        search = self._stage_trials(rec)
        complete = [t for t in search if t.state == TrialState.COMPLETE
                    and metric.name in t.metrics and self.study.metrics.feasible(t.metrics)]
        rec = {**rec, "n_search": len(search),
               "last_number": max((t.number for t in search), default=rec["first_number"] - 1)}
        if not complete:
            raise WorkflowError(
                f"stage {index} ({rec['name']}): none of its {len(search)} trials completed "
                f"feasibly; see dialed trials {self.study.name} --state failed"
            )
        best = min(complete, key=lambda t: (metric.loss(t.metrics[metric.name]), t.number))
        rec["candidate"] = {"params": dict(best.params), "trial": best.number,
                            "value": best.metrics[metric.name]}
        rec["status"] = "evaluating"
        self.study.storage.set_study_attr(self.study.study_id, stage_key(index), rec)
        return rec

    def _evaluate_stage(self, index: int, rec: dict[str, Any], start: Evaluation,
                        metric: Metric) -> dict[str, Any]:
        cand_params = dict(rec["candidate"]["params"])
        if config_key(cand_params) == config_key(start.params):
            rec = {**rec, "candidate_eval": None, "gain": None, "adopted": False,
                   "incumbent": start.to_dict(),
                   "note": "the best trial of the stage is the incumbent itself"}
        else:
            [cand] = self._evaluate(f"stage:{index}", "stage", [cand_params], self.plan.repeats)
            g = gain(start.values[metric.name], cand.values[metric.name],
                     str(metric.direction), self.confidence)
            adopted = cand.loss(metric) < start.loss(metric)
            incumbent = cand if adopted else start
            rec = {**rec, "candidate_eval": cand.to_dict(), "gain": g.to_dict(),
                   "adopted": adopted, "incumbent": incumbent.to_dict(),
                   "note": "" if adopted else "the candidate's mean is not better: the "
                                              "incumbent stays"}
        rec["status"] = "done"
        rec["finished_at"] = now()
        storage, sid = self.study.storage, self.study.study_id
        storage.set_study_attr(sid, stage_key(index), rec)
        storage.set_study_attr(sid, INCUMBENT_KEY, rec["incumbent"])
        return rec

    # -- confirm ---------------------------------------------------------------------------
    def top_configurations(self, top: int) -> list[tuple[dict[str, Any], int]]:
        """The ``top`` distinct configurations by mean value (the baseline left out).

        Each is returned with the number of the first trial that ran it.
        """
        metric = self.metric
        base = self.plan.baseline
        base_key = None if base is None else config_key(base)
        groups: dict[str, list[TrialRecord]] = {}
        for t in self.study.get_trials([TrialState.COMPLETE]):
            if metric.name not in t.metrics or not self.study.metrics.feasible(t.metrics):
                continue
            groups.setdefault(config_key(t.params), []).append(t)
        ranked = sorted(
            (k for k in groups if k != base_key),
            key=lambda k: (sum(metric.loss(t.metrics[metric.name]) for t in groups[k])
                           / len(groups[k]), groups[k][0].number),
        )
        return [(dict(groups[k][0].params), groups[k][0].number) for k in ranked[:top]]

    def confirm(self, top: int = 3, repeats: int | None = None) -> ConfirmResult:
        """Re-evaluate the ``top`` configurations with ``repeats`` fresh seeds each.

        Candidates are ranked by confirmed mean; the first is recommended. It is unstable when
        its interval overlaps the baseline's (and then no better than the baseline at this
        confidence). Never calls the test function.
        """
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ConfigError(f"top must be a whole number >= 1, got {top!r}")
        reps = check_repeats(self.plan.repeats if repeats is None else repeats)
        metric = self.metric
        storage, sid = self.study.storage, self.study.study_id
        rounds = _numbered(self.study.attrs, "workflow:confirm:")
        open_round = [(n, v) for n, v in rounds if v.get("status") != "done"]
        if open_round:
            number, rec = open_round[0]
            configs = [(dict(c["params"]), c.get("trial")) for c in rec["configs"]]
            reps = int(rec["repeats"])
        else:
            configs = self.top_configurations(top)
            if not configs:
                raise WorkflowError(
                    f"study {self.study.name!r} has no complete trial besides the baseline "
                    "to confirm; run a search or a stage first"
                )
            number = len(rounds) + 1
            rec = {"round": number, "top": top, "repeats": reps, "status": "running",
                   "configs": [{"params": p, "trial": n} for p, n in configs]}
            if not storage.set_study_attr_if_absent(sid, confirm_key(number), rec):
                raise WorkflowError(f"confirm round {number} was started by another process "
                                    "at the same time")
        evals = self._evaluate(f"confirm:{number}", "confirm", [p for p, _ in configs], reps)
        base = self.baseline()
        base_interval = None if base is None or base.n < 2 else \
            base.interval(metric.name, self.confidence)
        cands = []
        for (_, source), ev in zip(configs, evals, strict=True):
            vs = overlap = None
            if base is not None and base.n >= 2 and ev.n >= 2:
                vs = gain(base.values[metric.name], ev.values[metric.name],
                          str(metric.direction), self.confidence)
                if base_interval is not None:
                    overlap = ev.interval(metric.name, self.confidence).overlaps(base_interval)
            cands.append(Candidate(ev, source, vs, overlap))
        cands.sort(key=lambda c: (c.evaluation.loss(metric), c.evaluation.trials[0]))
        best = cands[0]
        unstable, reason = self._stability(best, base)
        comparison = None
        if base is not None and base.n >= 2 and best.evaluation.n >= 2:
            comparison = welch(best.evaluation.values[metric.name], base.values[metric.name],
                               self.confidence)
        result = ConfirmResult(number, int(rec["top"]), reps, tuple(cands), unstable, reason,
                               comparison)
        storage.set_study_attr(sid, confirm_key(number), {**result.to_dict(),
                                                          "configs": rec["configs"],
                                                          "finished_at": now()})
        return result

    def _stability(self, best: Candidate, base: Evaluation | None) -> tuple[bool, str]:
        pct = f"{self.confidence:.0%}"
        if base is None:
            return False, "no baseline to compare with"
        if best.evaluation.n < 2 or base.n < 2:
            return True, "too few evaluations for an interval"
        if best.overlaps_baseline:
            return True, (f"its {pct} interval overlaps the baseline's: not clearly better "
                          "than the baseline across seeds")
        if best.vs_baseline is not None and best.vs_baseline.value <= 0:
            return True, "its confirmed mean is not better than the baseline's"
        return False, f"its {pct} interval lies clear of the baseline's"

    def summary(self) -> Summary:
        """Baseline, best so far, targets, stages, confirm and verify, read from the storage."""
        from dialed.workflow._summary import summarize

        return summarize(self.study, self.confidence)

    # -- verify ----------------------------------------------------------------------------
    def verify(self, test: TestFunction, *, force: bool = False) -> VerifyResult:
        """Score the recommended configuration once on the untouched test data.

        A second evaluation of this study's test data is refused unless ``force``; each one is
        recorded (claimed before the test function runs, so a crash still counts as a look).
        """
        if not callable(test):
            raise ConfigError(f"test must be a function test(params, seed), got {test!r}")
        metric = self.metric
        rounds = self.confirmations()
        if not rounds:
            raise WorkflowError(
                f"study {self.study.name!r} has no confirmed recommendation: run confirm first "
                f"(dialed confirm {self.study.name}); the test data is looked at once, for "
                "the configuration that confirm chose"
            )
        chosen = rounds[-1].recommended
        storage, sid = self.study.storage, self.study.study_id
        earlier = self.verifications()
        if earlier and not force:
            raise WorkflowError(self._refusal(earlier[0]))
        number = len(earlier) + 1
        seed = derive_seed(self.study.seed, "test", number)
        rec = VerifyResult(number=number, forced=number > 1, status="started",
                           params=dict(chosen.evaluation.params), seed=seed,
                           source=f"confirm:{rounds[-1].round}", started_at=now())
        while not storage.set_study_attr_if_absent(sid, verify_key(number), rec.to_dict()):
            if not force:
                raise WorkflowError(self._refusal(self.verifications()[0]))
            number += 1
            seed = derive_seed(self.study.seed, "test", number)
            rec = dataclasses.replace(rec, number=number, forced=True, seed=seed)
        try:
            returned = test(dict(chosen.evaluation.params), seed)
            values = self.study.metrics.values_from(returned)
        except Exception as exc:
            failed = dataclasses.replace(rec, status="failed", finished_at=now(),
                                         error=one_line(exc))
            storage.set_study_attr(sid, verify_key(number), failed.to_dict())
            if isinstance(exc, ValueError) and not isinstance(exc, ConfigError):
                raise ConfigError(f"test function: {exc}") from None
            raise WorkflowError(
                f"the test function raised {one_line(exc)}; the attempt is recorded as "
                f"evaluation {number} of the test data"
            ) from exc
        result = self._compare(rec, chosen, values, metric)
        storage.set_study_attr(sid, verify_key(number), result.to_dict())
        return result

    def _refusal(self, first: VerifyResult) -> str:
        when = first.started_at
        stamp = "" if when is None else f" at {_iso(when)}"
        return (f"study {self.study.name!r} was already evaluated on the test data{stamp} "
                f"({first.status}); a second look at the test data is refused: give --force "
                "(force=True) to evaluate again, and it is recorded as forced for good")

    def _compare(self, rec: VerifyResult, chosen: Candidate, test_values: Mapping[str, float],
                 metric: Metric) -> VerifyResult:
        ev = chosen.evaluation
        validation = ev.means()
        gap = {k: float(test_values[k] - validation[k]) for k in validation if k in test_values}
        loss_gap = metric.loss(test_values[metric.name]) - ev.loss(metric)
        interval = ev.interval(metric.name, self.confidence)
        noise = 0.0
        if ev.n >= 2:
            from scipy import stats

            t = float(stats.t.ppf(0.5 + self.confidence / 2.0, ev.n - 1))
            noise = t * interval.std * math.sqrt(1.0 + 1.0 / ev.n)
        gained = chosen.vs_baseline.value if chosen.vs_baseline is not None else 0.0
        threshold = max(noise, GAIN_SHARE * max(gained, 0.0))
        return dataclasses.replace(
            rec, status="done", validation=validation, test=dict(test_values), gap=gap,
            loss_gap=float(loss_gap), threshold=float(threshold),
            flagged=bool(loss_gap > threshold), rule=verify_rule(), finished_at=now(),
        )


def _stage_plan(spec: StagePlan | Mapping[str, Any]) -> StagePlan:
    if isinstance(spec, StagePlan):
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(f"a stage is a mapping such as {{families: [optimizer], trials: 20}}, "
                          f"got {spec!r}")
    fams = spec.get("families")
    return StagePlan(None if fams is None else ((fams,) if isinstance(fams, str) else tuple(fams)),
                     spec.get("trials"), spec.get("timeout"), spec.get("name"))


def _iso(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

