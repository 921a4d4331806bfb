"""What a kind of letter is, in one place: the documents of its pack (which templates, in
which order, what their files are called), who gets a pack (each municipality, or all of
them by list), and what its templates see.

The pipeline, the packs, the manifest, the journal, mail and verify work from these
definitions and never name a kind. A new kind is a definition here and its templates.

Every kind takes one registration number per pack. The journal records the kind with the
letter, and the municipalities a pack is addressed to as its deliveries (one for a letter
to one head, one per head for a letter by list): that is what `letters mail` sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from .context import circular_context, follow_up_context, pack_context, sample_context
from .followup import Earlier
from .model import Dataset, Municipality, Settings
from .problems import Problems

EACH, BY_LIST = "each", "list"  # a pack for each municipality, or one for all of them
LIST_KEY = "по списку"  # what the journal and manifest.csv say of a letter by list's municipality


@dataclass(frozen=True)
class Enclosure:
    """A document of the pack that is not an appendix, and so not in the appendix mark
    (ГОСТ Р 7.0.97 practice): a distribution list."""

    template: str
    title: str  # its file name in the pack and its title in a PDF viewer


@dataclass(frozen=True)
class Audience:
    """Whom one pack is addressed to."""

    key: str  # the journal's and the manifest's municipality: the name, or LIST_KEY
    municipalities: tuple[Municipality, ...]
    earlier: Earlier | None = None  # the earlier letter a follow-up cites

    @property
    def emails(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for m in self.municipalities for a in m.emails))


# The variables of a pack: (dataset, whom it is addressed to, number, date) → context.
ContextBuilder = Callable[[Dataset, Audience, str, dt.date], dict]


@dataclass(frozen=True)
class Kind:
    name: str  # as the journal and manifest.csv record it
    title: str  # what a clerk reads
    letter: str  # the letter's template (a .docx of that name in the templates folder)
    appendices: tuple[str, ...]  # the appendices' templates, 1, 2, 3…; titles: [letter] appendix_titles
    context: ContextBuilder
    enclosures: tuple[Enclosure, ...] = ()
    addressing: str = EACH
    needs: Callable[[Settings, Problems], None] | None = None  # what letters.toml must say for it
    follow_up: str | None = None  # the kind a pack takes when its audience had an earlier letter
    recorded_as: str | None = None  # a variant of another kind: the journal and manifest name that one

    @property
    def recorded(self) -> str:
        """The kind the journal and manifest.csv record: a follow-up is still a letter to one
        head, and a re-run keeps its number whichever variant it comes out as."""
        return self.recorded_as or self.name

    @property
    def templates(self) -> tuple[str, ...]:
        return (self.letter, *self.appendices, *(e.template for e in self.enclosures))

    def audiences(self, municipalities: list[Municipality]) -> list[Audience]:
        """The packs of a build: one per municipality, or one for all (none for nobody)."""
        if self.addressing == EACH:
            return [Audience(m.name, (m,)) for m in municipalities]
        return [Audience(LIST_KEY, tuple(municipalities))] if municipalities else []

    def sample(self) -> dict:
        """A context with every variable this kind's templates may use (see context.sample_context)."""
        def build(dataset: Dataset, heads: tuple[Municipality, ...], number: str, date: dt.date) -> dict:
            audience = self.audiences(list(heads))[0]
            if self.recorded_as is not None:  # a follow-up: a sample earlier letter, whose finding is still there
                first = dataset.findings[0]
                audience = Audience(audience.key, audience.municipalities, Earlier(
                    "1/23", dt.date(2023, 5, 20), (), frozenset({(first.organization.site_key, first.error.code)}), 1))
            return self.context(dataset, audience, number, date)
        return sample_context(build)

    def check(self, settings: Settings, problems: Problems) -> None:
        if self.needs is not None:
            self.needs(settings, problems)


def _one_head(dataset: Dataset, audience: Audience, number: str, date: dt.date) -> dict:
    return pack_context(dataset, audience.municipalities[0], number, date)


def _follow_up(dataset: Dataset, audience: Audience, number: str, date: dt.date) -> dict:
    return follow_up_context(dataset, audience.municipalities[0], number, date, audience.earlier)


def _by_list(dataset: Dataset, audience: Audience, number: str, date: dt.date) -> dict:
    return circular_context(dataset, audience.municipalities, number, date)


def _circular_wording(settings: Settings, problems: Problems) -> None:
    if not settings.circular.addressee:
        problems.error(
            "для письма по списку (--circular) нужен параметр addressee в разделе [circular]: кому оно, в дательном "
            "падеже, например addressee = \"Главам муниципальных образований Тюменской области\"",
            file="letters.toml", column="[circular] addressee",
        )


PERSONAL = Kind(
    name="personal",
    title="письмо главе муниципального образования",
    letter="letter",
    appendices=("appendix1", "appendix2", "appendix3"),
    context=_one_head,
    follow_up="follow-up",
)

FOLLOW_UP = Kind(
    name="follow-up",
    title="письмо главе в дополнение к прежнему",
    letter="letter_followup",  # cites the earlier letter; its wording is a template of its own
    appendices=("appendix1_followup", "appendix2", "appendix3"),
    context=_follow_up,
    recorded_as="personal",
)

CIRCULAR = Kind(
    name="circular",
    title="письмо главам по списку",
    letter="letter",  # the same letter: the addressee block and the greeting come from [circular]
    appendices=("appendix1_circular", "appendix2", "appendix3"),
    context=_by_list,
    enclosures=(Enclosure("distribution", "Список рассылки"),),
    addressing=BY_LIST,
    needs=_circular_wording,
)

KINDS: dict[str, Kind] = {kind.name: kind for kind in (PERSONAL, FOLLOW_UP, CIRCULAR)}


def kind_of(name: str | None) -> Kind:
    """The kind a journal record or a manifest row names; older ones name none: personal."""
    return KINDS.get(name or PERSONAL.name, PERSONAL)


def all_templates() -> tuple[str, ...]:
    """Every template some kind uses, each once, in the order of the kinds."""
    return tuple(dict.fromkeys(t for kind in KINDS.values() for t in kind.templates))
