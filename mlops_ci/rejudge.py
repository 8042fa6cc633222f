"""Judge an untrusted report again with trusted gates: what the fork-safe commenter publishes.

A report.json that a pull request's own workflow wrote carries that pull request's verdict,
gate results and gate configuration: all of them are the author's to forge. What the author
cannot forge is the base repository's mlops.yaml, so the verdict is derived from it alone,
applied to the report's metrics, whose base values the trusted workflow read itself
(``trusted_base.rebase``). Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mlops_ci.config import Config, GateConfig
from mlops_ci.errors import ConfigError, MlopsError
from mlops_ci.gates import overall_verdict
from mlops_ci.gates_evidence import GateFacts, judge_gates, unjudged
from mlops_ci.report import EvaluationInfo, GateResult, Report, Verdict

NO_TRUSTED_GATES = (
    "No trusted gates: the base repository's checkout has no mlops.yaml, so nothing judged "
    "this report."
)
# The report's evidence (p-values, intervals, slice values) is the pull request's to forge, and
# the trusted workflow does not read the fork's predictions: it judges point values alone.
FORK_EVIDENCE = (
    "the pull request's report computed its evidence, and a fork's evidence is not trusted, "
    "so the rule was judged on point values alone"
)
FORK_SLICE = (
    "the pull request's report computed it from its own predictions, which the trusted "
    "workflow does not read"
)
FORK_BASE_SIDE = (
    "The base's side of the evaluation is not shown: the pull request's report computed it, "
    "and the trusted workflow did not."
)


@dataclass(frozen=True)
class Judgement:
    """A report as the commenter publishes it, and how far its verdict can be trusted."""

    report: Report  # gates and verdict from the trusted config (none without one)
    trusted: bool  # a trusted mlops.yaml judged it; False: there was none to judge with
    unjudgeable: tuple[str, ...] = ()  # trusted gates' metrics the report does not carry
    base_rev: str | None = None  # the base commit whose values the trusted workflow read
    base_problem: str | None = None  # why that commit could not be read, if it could not


def rejudge(
    report: Report,
    config: Config | None,
    *,
    base_rev: str | None = None,
    base_problem: str | None = None,
) -> Judgement:
    """*report* with its own gates and verdict thrown away and judged again under *config*.

    Without a trusted *config*, the report keeps no gate and its verdict is a failure that
    says why: nothing trusted vouches for it. A trusted gate that cannot be evaluated (its
    metric is missing from the report, or is not a number) fails with error severity, as
    ``mlops-ci run`` would refuse the same report: deleting a metric never passes its gate.
    *base_rev* is the commit the report's base values were read at by the trusted workflow;
    *base_problem* says why it could not be read: then every relative rule fails with error
    severity and that reason, whatever ``base.missing`` says.
    """
    if config is None:
        verdict = Verdict(status="fail", failed=0, warnings=0, summary=NO_TRUSTED_GATES)
        untrusted = replace(
            report, gates=[], verdict=verdict, evaluation=_head_side(report.evaluation)
        )
        return Judgement(untrusted, trusted=False,
                         base_rev=base_rev, base_problem=base_problem)
    digits = config.report.digits
    primary = config.metrics.primary
    metrics = [replace(m, primary=m.name == primary, base_interval=None) for m in report.metrics]
    results: list[GateResult] = []
    unjudgeable: list[str] = []
    for gate in config.gates:
        facts = {gate.index: GateFacts(note=FORK_SLICE if gate.evidence.slice else FORK_EVIDENCE)}
        try:
            evaluated = judge_gates(
                [gate], metrics, facts, digits=digits, config_file=config.path.name,
                base_missing="fail" if base_problem else config.base.missing,
            )
            results += [_base_unread(r, base_problem) if base_problem else r for r in evaluated]
        except ConfigError:
            unjudgeable.append(gate.metric)
            results += _failed_unjudged(gate, "the report carries no single metric of that name")
        except MlopsError:
            unjudgeable.append(gate.metric)
            results += _failed_unjudged(gate, "the report's value is not a number it can judge")
    judged = replace(
        report,
        digits=digits,
        primary_metric=primary,
        metrics=metrics,
        gates=results,
        verdict=overall_verdict(results),
        config_file=config.path.name,
        evaluation=_head_side(report.evaluation),
    )
    return Judgement(judged, trusted=True, unjudgeable=tuple(dict.fromkeys(unjudgeable)),
                     base_rev=base_rev, base_problem=base_problem)


def _head_side(info: EvaluationInfo | None) -> EvaluationInfo | None:
    """The report's evaluation without what it claims of the base (shown, never judged)."""
    if info is None:
        return None
    confusion = dict(info.confusion, base=None) if info.confusion else None
    return replace(info, base_rows=None, note=FORK_BASE_SIDE, confusion=confusion)


def _base_unread(result: GateResult, problem: str) -> GateResult:
    """A relative rule, failed because the trusted workflow could not read the base."""
    if result.rule not in ("max_drop", "max_increase"):
        return result
    return replace(result, verdict="fail", severity="error", base=None, limit=None, explanation=(
        f"{result.metric}'s base value could not be read, so {result.rule} "
        f"{result.threshold_text} fails: {problem}"
    ))


def _failed_unjudged(gate: GateConfig, why: str) -> list[GateResult]:
    # Only trusted words: the exception's message would list the report's metric names.
    return unjudged(
        gate, f"{why}. The pull request's report must carry every metric that the base "
        "repository's gates check.",
    )
