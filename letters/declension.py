"""Addressing a head of municipality: the dative case and the salutation.

Names go through pytrovich (a port of petrovich, made for Russian anthroponyms);
positions through pymorphy3, the only library here that inflects common nouns.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pymorphy3
from pytrovich.detector import PetrovichGenderDetector
from pytrovich.enums import Case, Gender, NamePart
from pytrovich.maker import PetrovichDeclinationMaker

NBSP = "\u00a0"

_MALE_PATRONYMIC_ENDINGS = ("вич", "ич", "оглы", "улы", "уулу")
_FEMALE_PATRONYMIC_ENDINGS = ("вна", "чна", "шна", "кызы", "гызы", "кизи")
_PATRONYMIC_PARTICLES = ("оглы", "улы", "уулу", "кызы", "гызы", "кизи")


_CYRILLIC_WORD = re.compile(r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*")
_INITIALS = re.compile(r"([^\W\d_]\.)+[^\W\d_]?")  # «И.», «И.И.», «И.Ив»
_NAME_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")  # letters of any alphabet, inner «-» or «'»


class DeclensionError(ValueError):
    """A name or position that cannot be put into the dative reliably."""


@dataclass(frozen=True)
class FullName:
    surname: str
    first: str
    patronymic: str  # may be empty, or two words such as «Рашид оглы»

    @classmethod
    def parse(cls, text: str) -> FullName:
        words = text.split()
        shown = " ".join(words)
        if len(words) < 2:
            raise DeclensionError(
                f"«{shown}»: нужны фамилия, имя и отчество через пробел"
            )
        if any(_INITIALS.fullmatch(w) for w in words):
            raise DeclensionError(
                f"«{shown}»: нужны полные имя и отчество, а не инициалы — по ним пишется обращение "
                "«Уважаемый Иван Иванович!»"
            )
        if len(words) > 5 or not all(_NAME_WORD.fullmatch(w) for w in words):
            raise DeclensionError(
                f"«{shown}»: в ячейке должны быть только фамилия, имя и отчество буквами, "
                "без цифр, скобок и пояснений"
            )
        surname, first, *rest = words
        # «оглы», «кызы» stay in lower case, as they are written
        rest = [w if w.lower() in _PATRONYMIC_PARTICLES else _title(w) for w in rest]
        return cls(_title(surname), _title(first), " ".join(rest))

    @property
    def gender(self) -> Gender:
        last = self.patronymic.split()[-1].lower() if self.patronymic else ""
        if last.endswith(_FEMALE_PATRONYMIC_ENDINGS):
            return Gender.FEMALE
        if last.endswith(_MALE_PATRONYMIC_ENDINGS):
            return Gender.MALE
        guess = _detector().detect(firstname=self.first, middlename=self.patronymic or None)
        if guess in (Gender.MALE, Gender.FEMALE):
            return guess
        raise DeclensionError(
            f"«{self}»: по отчеству и имени не видно, мужчина это или женщина "
            "(от этого зависит обращение «Уважаемый» или «Уважаемая»); "
            "проверьте, что ФИО записано полностью: Фамилия Имя Отчество"
        )

    @property
    def initials(self) -> str:
        parts = [self.first, *self.patronymic.split()[:1]]
        return "".join(p[0] + "." for p in parts)

    def __str__(self) -> str:
        return " ".join(p for p in (self.surname, self.first, self.patronymic) if p)


def name_dative(full_name: str) -> str:
    """«Иванов Иван Иванович» → «И.И. Иванову» (a non-breaking space after the initials)."""
    name = FullName.parse(full_name)
    return f"{name.initials}{NBSP}{surname_dative(name.surname, name.gender)}"


def name_short(full_name: str) -> str:
    """«Логинов Сергей Иванович» → «С.И. Логинов», as under a signature."""
    name = FullName.parse(full_name)
    return f"{name.initials}{NBSP}{name.surname}"


def surname_dative(surname: str, gender: Gender) -> str:
    if not _CYRILLIC_WORD.fullmatch(surname):
        return surname  # a surname not in Cyrillic is left as written
    # petrovich declines each part of a double-barrelled surname itself
    try:
        return _maker().make(NamePart.LASTNAME, gender, Case.DATIVE, _title(surname))
    except (ValueError, LookupError, TypeError, AttributeError):  # its rules fail on odd words
        raise DeclensionError(
            f"«{surname}»: не удалось поставить фамилию в дательный падеж; заполните столбец «ФИО главы (кому)»"
        ) from None


def salutation(full_name: str) -> str:
    """«Уважаемый Иван Иванович!» / «Уважаемая Мария Петровна!».

    Without a patronymic the official form is «Уважаемый господин Петров!».
    """
    name = FullName.parse(full_name)
    female = name.gender is Gender.FEMALE
    word = "Уважаемая" if female else "Уважаемый"
    if name.patronymic:
        return f"{word} {name.first} {name.patronymic}!"
    title = "госпожа" if female else "господин"
    return f"{word} {title} {name.surname}!"


def position_dative(position: str) -> str:
    """Put the head phrase of a position into the dative, keep its genitive tail.

    «Глава Тюменского муниципального района» → «Главе Тюменского муниципального района»;
    «Исполняющий обязанности главы города» → «Исполняющему обязанности главы города»;
    «Первый заместитель Главы» → «Первому заместителю Главы».
    """
    words = position.split()
    if not words:
        raise DeclensionError("пустая должность")
    try:
        out = _dative_head(words)
    except (ValueError, LookupError, TypeError, AttributeError):  # pymorphy3 on words it cannot parse
        out = words
    if out == words:
        raise DeclensionError(
            f"«{position}»: не удалось поставить должность в дательный падеж; "
            "заполните столбец «Должность главы (кому)»"
        )
    return " ".join(out)


def _dative_head(words: list[str]) -> list[str]:
    out = list(words)
    agreement = None  # gender and number of the leading adjectives/participles
    for i, word in enumerate(words):
        if _is_adverb(word):  # «Временно исполняющий …»
            continue
        parse = _nominative_parse(word, agreement)
        if parse is None:
            break
        out[i] = _inflect(word, parse)
        if parse.tag.POS == "NOUN":
            break  # the head noun ends the phrase; what follows is its genitive tail
        agreement = (parse.tag.gender, parse.tag.number)
    return out


def _nominative_parse(word, agreement):
    """The parse of `word` as a nominative adjective, participle or noun that agrees
    with the words before it, or None where the head phrase has ended."""
    if not _CYRILLIC_WORD.fullmatch(word):
        return None  # a number, an abbreviation with dots, a Latin name: not inflected
    for parse in _morph().parse(word.lower()):
        tag = parse.tag
        if tag.case != "nomn" or tag.POS not in ("ADJF", "PRTF", "NOUN"):
            continue
        if agreement and tag.number != agreement[1]:
            continue
        # (a noun of common gender, «глава», has no gender here: it agrees with any)
        if agreement and agreement[0] and tag.gender and tag.gender != agreement[0]:
            continue
        return parse
    return None


def _inflect(word: str, parse) -> str:
    dative = parse.inflect({"datv"})
    if dative is None:
        return word
    return _same_case_as(word, dative.word)


def _is_adverb(word: str) -> bool:
    if not _CYRILLIC_WORD.fullmatch(word):
        return False
    return any(p.tag.POS == "ADVB" and p.score > 0.5 for p in _morph().parse(word.lower()))


def _same_case_as(original: str, word: str) -> str:
    """pymorphy3 lower-cases: give the word back the original's capitalisation."""
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _title(word: str) -> str:
    """«ЛОГИНОВ» → «Логинов», «римский-корсаков» → «Римский-Корсаков» (petrovich needs it)."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in word.split("-"))


@functools.cache
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


@functools.cache
def _maker() -> PetrovichDeclinationMaker:
    return PetrovichDeclinationMaker()


@functools.cache
def _detector() -> PetrovichGenderDetector:
    return PetrovichGenderDetector()
