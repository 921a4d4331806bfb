"""The dative and the salutation, on real Russian positions and names."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letters.declension import DeclensionError, name_dative, name_short, position_dative, salutation

NBSP = "\u00a0"

POSITIONS = [
    ("Глава Тюменского муниципального района", "Главе Тюменского муниципального района"),
    ("Глава города Тюмени", "Главе города Тюмени"),
    ("Глава Заводоуковского городского округа", "Главе Заводоуковского городского округа"),
    ("Исполняющий обязанности главы Ишимского муниципального района",
     "Исполняющему обязанности главы Ишимского муниципального района"),
    ("Исполняющая обязанности главы города Тобольска", "Исполняющей обязанности главы города Тобольска"),
    ("Временно исполняющий полномочия главы Уватского муниципального района",
     "Временно исполняющему полномочия главы Уватского муниципального района"),
    ("Первый заместитель Главы города Тюмени", "Первому заместителю Главы города Тюмени"),
    ("Председатель Думы города Тобольска", "Председателю Думы города Тобольска"),
    ("Глава администрации Вагайского муниципального района", "Главе администрации Вагайского муниципального района"),
    ("Мэр города Ишима", "Мэру города Ишима"),
    ("ГЛАВА ГОРОДА ЯЛУТОРОВСКА", "ГЛАВЕ ГОРОДА ЯЛУТОРОВСКА"),
    ("Заместитель главы района", "Заместителю главы района"),
]

NAMES = [
    # (nominative, dative with initials, salutation)
    ("Иванов Иван Иванович", "И.И. Иванову", "Уважаемый Иван Иванович!"),
    ("Петрова Мария Петровна", "М.П. Петровой", "Уважаемая Мария Петровна!"),
    ("Ким Мария Сергеевна", "М.С. Ким", "Уважаемая Мария Сергеевна!"),
    ("Ким Алексей Борисович", "А.Б. Киму", "Уважаемый Алексей Борисович!"),
    ("Черных Ольга Викторовна", "О.В. Черных", "Уважаемая Ольга Викторовна!"),
    ("Черных Олег Викторович", "О.В. Черных", "Уважаемый Олег Викторович!"),
    ("Белых Игорь Сергеевич", "И.С. Белых", "Уважаемый Игорь Сергеевич!"),
    ("Дурново Пётр Петрович", "П.П. Дурново", "Уважаемый Пётр Петрович!"),
    ("Петрова-Водкина Анна Ивановна", "А.И. Петровой-Водкиной", "Уважаемая Анна Ивановна!"),
    ("Римский-Корсаков Николай Андреевич", "Н.А. Римскому-Корсакову", "Уважаемый Николай Андреевич!"),
    ("Бонч-Бруевич Владимир Дмитриевич", "В.Д. Бонч-Бруевичу", "Уважаемый Владимир Дмитриевич!"),
    ("Швец Елена Павловна", "Е.П. Швец", "Уважаемая Елена Павловна!"),
    ("Швец Андрей Павлович", "А.П. Швецу", "Уважаемый Андрей Павлович!"),
    ("Чайка Никита Олегович", "Н.О. Чайке", "Уважаемый Никита Олегович!"),
    ("Осадчая Ирина Николаевна", "И.Н. Осадчей", "Уважаемая Ирина Николаевна!"),
    ("Кузьмич Анна Игоревна", "А.И. Кузьмич", "Уважаемая Анна Игоревна!"),
    ("Ильин Илья Ильич", "И.И. Ильину", "Уважаемый Илья Ильич!"),
    ("Мамедов Эльдар Рашид оглы", "Э.Р. Мамедову", "Уважаемый Эльдар Рашид оглы!"),
    ("Алиева Лейла Рашид кызы", "Л.Р. Алиевой", "Уважаемая Лейла Рашид кызы!"),
    ("ЛОГИНОВ СЕРГЕЙ ИВАНОВИЧ", "С.И. Логинову", "Уважаемый Сергей Иванович!"),
    ("  Смирнова   Татьяна\u00a0Юрьевна ", "Т.Ю. Смирновой", "Уважаемая Татьяна Юрьевна!"),
]


@pytest.mark.parametrize("nominative, dative", POSITIONS)
def test_position_is_put_in_the_dative_keeping_its_tail(nominative, dative):
    assert position_dative(nominative) == dative


@pytest.mark.parametrize("nominative, dative, greeting", NAMES)
def test_name_gets_initials_before_the_dative_surname(nominative, dative, greeting):
    assert name_dative(nominative) == dative.replace(" ", NBSP)


@pytest.mark.parametrize("nominative, dative, greeting", NAMES)
def test_salutation_follows_the_gender_of_the_patronymic(nominative, dative, greeting):
    assert salutation(nominative) == greeting


def test_without_a_patronymic_the_salutation_uses_the_surname():
    assert salutation("Сидорова Анна") == "Уважаемая госпожа Сидорова!"
    assert name_dative("Петров Иван") == f"И.{NBSP}Петрову"


def test_signature_form_keeps_the_nominative():
    assert name_short("Логинов Сергей Иванович") == f"С.И.{NBSP}Логинов"


def test_a_single_word_is_not_a_full_name():
    with pytest.raises(DeclensionError, match="фамилия, имя и отчество"):
        name_dative("Иванов")


def test_a_position_that_cannot_be_declined_asks_for_the_override_column():
    with pytest.raises(DeclensionError, match="Должность главы \\(кому\\)"):
        position_dative("И.о.")


@given(st.text(max_size=60))
def test_any_text_gives_a_dative_or_a_clean_error(text):
    for function in (position_dative, name_dative, salutation):
        try:
            assert isinstance(function(text), str)
        except DeclensionError:
            pass


@pytest.mark.parametrize("written", ["Иванов И.И.", "Иванов И. И.", "Иванов Иван И."])
def test_initials_are_not_a_full_name(written):
    with pytest.raises(DeclensionError, match="а не инициалы"):
        salutation(written)


def test_words_of_a_gender_pymorphy_cannot_compare_do_not_crash():
    # found by hypothesis: pymorphy3 raised a ValueError comparing «neut» with «ms-f»
    assert position_dative("ЁЁ-Й ЁЁЁЁ") == "ЁЁ-МУ ЁЁЁЁ"
