"""What the dashboard's synthetic-copies card shows of each run: its state and the report's three
verdicts in words a person reads at a glance."""

from __future__ import annotations

from dataclasses import dataclass

from labeler.models import Dataset, SynthesisRun
from labeler.selectors import synthesis_runs_recent
from labeler.services.synthesis import synthesis_stale_runs_fail


@dataclass
class Verdict:
    text: str
    passed: bool | None  # None: not measured


@dataclass
class SynthesisRow:
    run: SynthesisRun
    state: str
    fidelity: Verdict | None
    utility: Verdict | None
    privacy: Verdict | None

    @property
    def fraud_share(self) -> str:
        return f"{self.run.fraud_share * 100:.4g}%"

    @property
    def verdicts(self) -> list[Verdict | None]:
        return [self.fidelity, self.utility, self.privacy]


@dataclass
class SynthesisCard:
    dataset: Dataset
    rows: list[SynthesisRow]

    @property
    def running(self) -> bool:
        return any(
            row.run.status in {SynthesisRun.Status.QUEUED, SynthesisRun.Status.RUNNING}
            for row in self.rows
        )


def _state(run: SynthesisRun) -> str:
    if run.status == SynthesisRun.Status.RUNNING:
        return f"{run.stage or 'running'}, {run.progress}%"
    if run.status == SynthesisRun.Status.FAILED:
        return f"failed: {run.error}"
    if run.status == SynthesisRun.Status.QUEUED:
        return "queued, waiting for a worker"
    return "done"


def _verdicts(report: dict | None) -> tuple[Verdict | None, ...]:
    if not report:
        return None, None, None
    fidelity, privacy, utility = report["fidelity"], report["privacy"], report.get("utility")
    return (
        Verdict(
            f"ROC AUC {fidelity['real_vs_synthetic_auc']:.3f} on "
            f"{fidelity['rows_compared']:,} rows each",
            fidelity["passed"],
        ),
        Verdict(
            f"AP {utility['train_synthetic_ap']:.3f} vs {utility['train_real_ap']:.3f} "
            f"({utility['ratio']:.2f} of it) on {utility['test_positives']} later frauds",
            utility["passed"],
        )
        if utility
        else Verdict("not measured (no fraud among the later rows)", None),
        Verdict(
            f"{privacy['share_closer']:.2%} of {privacy['rows_compared']:,} rows, "
            f"{privacy['copies']} copies",
            privacy["passed"],
        ),
    )


def synthesis_card(dataset: Dataset) -> SynthesisCard:
    synthesis_stale_runs_fail()  # a dead worker's run must not hold the card "running"
    rows = []
    for run in synthesis_runs_recent(dataset=dataset):
        fidelity, utility, privacy = _verdicts(run.report)
        rows.append(SynthesisRow(run, _state(run), fidelity, utility, privacy))
    return SynthesisCard(dataset, rows)
