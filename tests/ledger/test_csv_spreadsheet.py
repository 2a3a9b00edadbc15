"""The Polish CSV export opens in LibreOffice Calc in a Polish locale with amounts as numbers
(R-L5, issue 12). Needs `soffice` (Debian: libreoffice-calc-nogui), which `make test` installs."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from skarbiec.ledger.accounts import deposit_cash
from skarbiec.ledger.history import history_csv
from tests.ledger.helpers import WEB, member_with_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _libreoffice() -> None:
    if shutil.which("soffice") is None:
        pytest.fail("LibreOffice is missing: `make test` installs it (libreoffice-calc-nogui)")


def test_r_l5_polish_csv_amounts_are_numbers_in_libreoffice_pl(tmp_path: Path):
    member, account = member_with_account(balance_minor=1_234_567_89)
    deposit_cash(account, 12_50, WEB, title="Zażółć gęślą jaźń")
    source = tmp_path / "historia.csv"
    source.write_bytes(history_csv(member, account.pk, lang="pl").encode("utf-8"))
    # Separator ;, text in quotes, UTF-8 (76), from line 1, language Polish (1045).
    subprocess.run(
        ["soffice", "--headless", "--infilter=CSV:59,34,76,1,,1045", "--convert-to", "fods",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    sheet = (tmp_path / "historia.fods").read_text(encoding="utf-8")
    floats = re.findall(r'office:value-type="float" office:value="([-0-9.]+)"', sheet)
    # Amount and balance of both rows are numbers, not text.
    assert {"12.5", "1234580.39", "1234567.89"} <= set(floats)
    assert "Zażółć gęślą jaźń" in sheet and "Data księgowania" in sheet
