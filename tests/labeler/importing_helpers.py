"""Small files and a database fingerprint for the import tests."""

from __future__ import annotations

import gzip
from pathlib import Path

from labeler.models import Dataset, ImportBatch, Label, ReferenceLabel, Transaction

REFERENCE_HEADER = "Time," + ",".join(f"V{i}" for i in range(1, 29)) + ",Amount,Class"


def reference_row(time: float, amount: float, label: int, value: float = 0.5) -> str:
    features = ",".join(f"{value + i / 100:.4f}" for i in range(28))
    return f'{time},{features},{amount},"{label}"'


def reference_csv(rows: int = 5, frauds: tuple[int, ...] = (2,)) -> str:
    lines = [REFERENCE_HEADER]
    lines += [reference_row(float(i), 10.0 + i, int(i in frauds), i / 10) for i in range(rows)]
    return "\n".join(lines) + "\n"


def write(folder: Path, name: str, content: str | bytes, *, gzipped: bool = False) -> Path:
    path = folder / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def database_fingerprint() -> dict[str, int]:
    """What an import may change; a refused import must leave every count as it was."""
    return {
        "datasets": Dataset.objects.count(),
        "batches": ImportBatch.objects.count(),
        "transactions": Transaction.objects.count(),
        "labels": Label.objects.count(),
        "reference_labels": ReferenceLabel.objects.count(),
    }
