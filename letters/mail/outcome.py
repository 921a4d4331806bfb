"""What became of each letter of a `letters mail` run, as the CLI shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..problems import Problems

WRITTEN, MAILED, ALREADY, CONFIRMED, TESTED = "written", "sent", "already", "confirmed", "tested"


@dataclass
class Outcome:
    number: str
    municipality: str  # the head it went to (a letter by list goes to each head in a message of its own)
    state: str  # WRITTEN, MAILED, ALREADY, CONFIRMED or TESTED (sent to the clerk's --test-to address)
    recipients: tuple[str, ...] = ()
    message_id: str = ""
    file: Path | None = None  # the .eml written


@dataclass
class MailResult:
    problems: Problems
    outcomes: list[Outcome] = field(default_factory=list)
    folder: Path | None = None
    server: str = ""
    prepared: bool = False  # the run got as far as writing the outbox or sending
    declined: bool = False  # the clerk answered «no» to «Отправить …?»

    def of(self, state: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.state == state]
