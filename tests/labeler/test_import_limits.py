"""Files that would exhaust memory or pretend to be what they are not: refused while they
stream in, in bounded memory, with a message naming the limit; the database left as it was."""

import gzip
import tracemalloc
import zlib

import pytest
from django.core.management import CommandError, call_command

import labeler.services.import_table  # noqa: F401  (loaded before memory is traced)
from labeler.errors import ImportRejected
from labeler.models import Transaction
from labeler.services.importing import transactions_import
from tests.labeler.importing_helpers import database_fingerprint, reference_csv, write

pytestmark = pytest.mark.django_db

MiB = 1 << 20


def gzip_bomb(folder, name: str, unpacked_bytes: int):
    """A valid header and row, then spaces: compresses about a thousand to one."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b"Time,Amount,V1\n0,1,1\n")]
    line = b" " * (MiB - 1) + b"\n"  # long lines, so only the size cap can stop it
    for _ in range(unpacked_bytes // MiB):
        parts.append(compressor.compress(line))
    parts.append(compressor.flush())
    path = folder / name
    path.write_bytes(b"".join(parts))
    return path


def test_a_gzip_bomb_is_refused_at_the_size_cap_in_bounded_memory(tmp_path, settings):
    settings.IMPORT_MAX_TEXT_BYTES = 64 * MiB
    bomb = gzip_bomb(tmp_path, "bomb.csv.gz", 256 * MiB)
    assert bomb.stat().st_size < MiB
    before = database_fingerprint()
    tracemalloc.start()
    try:
        with pytest.raises(ImportRejected) as refused:
            transactions_import(path=bomb, dataset_name="cards")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(refused.value)
    assert "bomb.csv.gz: the file unpacks to more than 64.0 MiB of text" in message
    assert "IMPORT_MAX_TEXT_BYTES" in message
    # Streaming: a few chunks in memory, never the 64 MiB already unpacked.
    assert peak < 16 * MiB, peak
    assert database_fingerprint() == before


def test_rows_beyond_the_row_cap_are_refused(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 5
    before = database_fingerprint()
    with pytest.raises(ImportRejected, match=r"more than 5 rows, the limit \(IMPORT_MAX_ROWS\)"):
        transactions_import(path=write(tmp_path, "six.csv", reference_csv(rows=6)))
    assert database_fingerprint() == before
    transactions_import(path=write(tmp_path, "five.csv", reference_csv(rows=5)))
    assert Transaction.objects.count() == 5


def test_a_line_without_end_is_not_a_csv(tmp_path):
    path = tmp_path / "one-line.csv"
    path.write_bytes(b"Time,Amount,V1\n" + b"7" * (17 * MiB))
    with pytest.raises(ImportRejected, match=r"line 2: longer than 16.0 MiB without a line"):
        transactions_import(path=path)


def test_plain_text_named_gz_is_refused_with_the_mismatch(tmp_path):
    before = database_fingerprint()
    with pytest.raises(ImportRejected, match=r"cards.csv.gz: the name says gzip but the file is"):
        transactions_import(path=write(tmp_path, "cards.csv.gz", reference_csv()))
    assert database_fingerprint() == before


def test_gzip_named_csv_is_read_by_its_bytes(tmp_path):
    transactions_import(path=write(tmp_path, "cards.csv", reference_csv(rows=4), gzipped=True))
    assert Transaction.objects.count() == 4


def test_concatenated_gzip_members_are_one_file(tmp_path):
    text = reference_csv(rows=6).encode()
    cut = text.index(b"\n", len(text) // 2) + 1
    path = tmp_path / "joined.csv.gz"
    path.write_bytes(gzip.compress(text[:cut]) + gzip.compress(text[cut:]))
    transactions_import(path=path)
    assert Transaction.objects.count() == 6


def test_a_truncated_gzip_is_refused(tmp_path):
    data = gzip.compress(reference_csv(rows=50).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportRejected, match=r"cut.csv.gz: not a readable gzip file \(it ends"):
        transactions_import(path=path)
    assert Transaction.objects.count() == 0


@pytest.mark.parametrize(
    "head,what",
    [
        (b"PK\x03\x04rest-of-a-zip", "a zip archive"),
        (b"BZh91AY&SY", "a bzip2 file"),
        (b"%PDF-1.7\n", "a PDF document"),
    ],
)
def test_other_file_types_are_named(tmp_path, head, what):
    with pytest.raises(ImportRejected, match=f"cards.csv: this is {what}"):
        transactions_import(path=write(tmp_path, "cards.csv", head * 20))


def test_a_long_column_list_is_cut_in_the_message(tmp_path):
    transactions_import(path=write(tmp_path, "first.csv", reference_csv()), dataset_name="cards")
    names = [f"column_{i}" for i in range(1969)]
    wide = "Time,Amount," + ",".join(names) + "\n0,1," + ",".join("1" * 1969) + "\n"
    with pytest.raises(ImportRejected) as refused:
        transactions_import(path=write(tmp_path, "wide.csv", wide), dataset_name="cards")
    message = str(refused.value)
    assert "unexpected 'column_0', 'column_1'" in message
    assert "and 1,949 more" in message
    assert len(message) < 2000


def test_the_command_refuses_a_dataset_name_the_page_refuses(tmp_path):
    path = write(tmp_path, "cards.csv", reference_csv())
    with pytest.raises(CommandError, match=r"dataset name '<script>x</script>' is not allowed"):
        call_command("import_transactions", str(path), "--dataset", "<script>x</script>")
    assert Transaction.objects.count() == 0


def test_a_last_row_without_its_line_break_counts_against_the_row_cap(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 5
    text = reference_csv(rows=6).rstrip("\n")
    for name, gzipped in (("six.csv", False), ("six.csv.gz", True)):
        with pytest.raises(ImportRejected, match=r"more than 5 rows, the limit"):
            transactions_import(path=write(tmp_path, name, text, gzipped=gzipped))
    assert Transaction.objects.count() == 0
