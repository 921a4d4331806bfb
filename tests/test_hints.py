"""The commands the tool suggests repeat the folders and the journal the clerk gave."""

import datetime as dt
from pathlib import Path

from conftest import run_letters, write_data

from letters import hints
from letters.kinds import CIRCULAR
from letters.mail import MailRequest
from letters.pipeline import BuildRequest


def test_a_hint_repeats_what_differs_from_the_defaults():
    assert hints.command("build", "--date", "20.05.2024", request=BuildRequest(date=dt.date(2024, 5, 20))) == \
        "letters build --date 20.05.2024"
    request = BuildRequest(date=dt.date(2024, 5, 20), data=Path("май данные"), out=Path("/srv/письма"),
                           templates=Path("шаблоны"), journal="postgresql+psycopg://db/letters", kind=CIRCULAR.name)
    assert hints.command("build", "--date", "20.05.2024", "--reissue", request=request) == (
        'letters build --date 20.05.2024 --reissue --data "май данные" --out /srv/письма '
        "--journal postgresql+psycopg://db/letters --templates шаблоны --circular")
    mail = MailRequest(date=dt.date(2024, 5, 20), out=Path("письма"))
    assert hints.command("mail", "--date", "20.05.2024", "--send", request=mail) == \
        "letters mail --date 20.05.2024 --send --out письма"


def test_mail_before_build_names_the_build_with_the_clerk_s_folders(tmp_path):
    data, out = write_data(tmp_path / "данные"), tmp_path / "письма"
    shown = run_letters("mail", "--date", "20.05.2024", "--data", str(data), "--out", str(out),
                        "--journal", str(tmp_path / "j.sqlite"))
    assert shown.returncode == 1
    assert (f"сначала соберите письма: letters build --date 20.05.2024 --data {data} --out {out} "
            f"--journal {tmp_path / 'j.sqlite'}") in shown.stderr, shown.stderr
