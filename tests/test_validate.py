"""`letters validate`: every problem at once, each with file, row and column, in Russian."""

import datetime as dt

from conftest import TABLES, run_letters, write_data

from letters.problems import Problems
from letters.validate import load_dataset


def problems_of(folder, on=None) -> Problems:
    problems = Problems()
    load_dataset(folder, problems, on=on)
    return problems


def errors_of(folder) -> list[str]:
    return [str(p) for p in problems_of(folder).errors]


def test_the_small_data_folder_is_valid(small_data):
    problems = Problems()
    dataset = load_dataset(small_data, problems)
    assert problems.errors == []
    assert [m.name for m in dataset.municipalities_with_findings] == ["Тюменский муниципальный район", "Город Ишим"]
    ishim = dataset.municipalities[1]
    assert ishim.emails == ("adm@ishim.ru", "mayor@ishim.ru")
    assert (ishim.head_position_dative, ishim.head_name_dative) == ("Главе города Ишима", "М.С.\u00a0Ким")
    assert ishim.salutation == "Уважаемая Мария Сергеевна!"


def test_override_columns_win(tmp_path):
    lines = [
        "Муниципальное образование;Должность главы;ФИО главы;Должность главы (кому);ФИО главы (кому)",
        "Тюменский муниципальный район;Глава района;Иванов Иван Иванович;Главе Тюменского района;Ивану Ивановичу Иванову",
        "Город Ишим;Глава города Ишима;Ким Мария Сергеевна;;",
        "Уватский муниципальный район;Глава Уватского муниципального района;Черных Ольга Викторовна;;",
    ]
    problems = Problems()
    dataset = load_dataset(write_data(tmp_path, municipalities=lines), problems)
    head = dataset.municipalities[0]
    assert (head.head_position_dative, head.head_name_dative) == ("Главе Тюменского района", "Ивану Ивановичу Иванову")


def test_audit_site_not_in_registry(tmp_path):
    audit = TABLES["audit"] + ["https://nosuch.ru;widget_missing;13.05.2024;"]
    assert errors_of(write_data(tmp_path, audit=audit)) == [
        "audit.csv, строка 6, столбец «Ссылка на сайт»: сайта https://nosuch.ru нет в реестре организаций "
        "(organizations): добавьте организацию с этим сайтом в реестр или исправьте адрес"
    ]


def test_unknown_error_code(tmp_path):
    audit = TABLES["audit"] + ["atmr.ru;widjet_missing;13.05.2024;"]
    [error] = errors_of(write_data(tmp_path, audit=audit))
    assert error.startswith("audit.csv, строка 6, столбец «Код ошибки»: неизвестный код ошибки «widjet_missing»: возможные коды — widget_missing, below_first_screen")


def test_error_codes_in_another_case_are_accepted(tmp_path):
    audit = TABLES["audit"] + ["uvat.ru;WIDGET_MISSING;13.05.2024;"]
    assert errors_of(write_data(tmp_path, audit=audit)) == []


def test_organization_of_an_unknown_municipality(tmp_path):
    organizations = TABLES["organizations"] + ["Школа;Нижнетавдинский район;https://nt.ru;"]
    assert errors_of(write_data(tmp_path, organizations=organizations)) == [
        "organizations.csv, строка 6, столбец «Муниципальное образование»: муниципального образования "
        "«Нижнетавдинский район» нет в таблице municipalities: исправьте название или добавьте его туда"
    ]


def test_duplicate_municipality(tmp_path):
    municipalities = TABLES["municipalities"] + ["тюменский  муниципальный район;Глава района;Петров Пётр Петрович;"]
    assert errors_of(write_data(tmp_path, municipalities=municipalities)) == [
        "municipalities.csv, строка 5, столбец «Муниципальное образование»: муниципальное образование "
        "«тюменский муниципальный район» уже записано в строке 2: оставьте одну строку"
    ]


def test_missing_required_column(tmp_path):
    errors = ["Код ошибки;Рекомендации по устранению", "widget_missing;Разместите виджет."]
    found = errors_of(write_data(tmp_path, errors=errors))
    assert found[0] == "errors.csv, строка 1: нет обязательного столбца «Наименование ошибки»: добавьте его в строку заголовков"


def test_a_date_that_is_not_a_date(tmp_path):
    audit = TABLES["audit"] + ["uvat.ru;widget_missing;31.02.2024;", "uvat.ru;wrong_lko;на днях;"]
    assert errors_of(write_data(tmp_path, audit=audit)) == [
        "audit.csv, строка 6, столбец «Дата проверки»: такой даты нет в календаре: «31.02.2024»",
        "audit.csv, строка 7, столбец «Дата проверки»: «на днях» — не дата: напишите её как ДД.ММ.ГГГГ, например 20.05.2024",
    ]


def test_empty_and_unreadable_files(tmp_path):
    folder = write_data(tmp_path, plan=None)
    (folder / "plan.csv").write_bytes(b"")
    (folder / "errors.csv").unlink()
    (folder / "errors.xlsx").write_bytes(b"<html><body>not a workbook</body></html>")
    found = errors_of(folder)
    assert "plan.csv: файл пуст: сохраните в него таблицу заново" in found
    assert any(e.startswith("errors.xlsx: это веб-страница (HTML), а не книга Excel (.xlsx)") for e in found)


def test_the_same_finding_twice_is_a_warning_and_counted_once(tmp_path):
    audit = TABLES["audit"] + ["https://www.atmr.ru;BELOW_FIRST_SCREEN;14.05.2024;"]
    problems = Problems()
    dataset = load_dataset(write_data(tmp_path, audit=audit), problems)
    assert problems.errors == []
    assert [str(w) for w in problems.warnings] == [
        "audit.csv, строка 6: та же ошибка того же сайта уже записана в строке 2: учтена один раз"
    ]
    assert len(dataset.findings) == 4


def test_an_audit_after_the_letter_date_is_an_error(small_data):
    problems = problems_of(small_data, on=dt.date(2024, 5, 14))  # a letter can't predate its own findings
    assert [p.row for p in problems.errors] == [5] and "позже даты письма 14.05.2024" in problems.errors[0].message


def test_letters_toml_problems_name_the_key_and_its_line(tmp_path):
    folder = write_data(tmp_path)
    text = (folder / "letters.toml").read_text(encoding="utf-8")
    (folder / "letters.toml").write_text(text.replace('deadline = "14.06.2024"', 'deadline = "14.13.2024"').replace("first = 1337", 'first = "1337"'), encoding="utf-8")
    found = errors_of(folder)
    assert "letters.toml, строка 19, параметр «[letter] deadline»: такой даты нет в календаре: «14.13.2024»" in found
    assert any(e.startswith("letters.toml, строка 23, параметр «[numbering] first»") for e in found)
    lines = (folder / "letters.toml").read_text(encoding="utf-8").splitlines()
    assert lines[19 - 1].startswith("deadline =") and lines[23 - 1].startswith("first =")


def test_a_broken_toml_line_is_named(tmp_path):
    folder = write_data(tmp_path)
    text = (folder / "letters.toml").read_text(encoding="utf-8")
    (folder / "letters.toml").write_text(text.replace('name = "С.И. Логинов"', 'name = "С.И. Логинов'), encoding="utf-8")
    assert errors_of(folder)[0].startswith("letters.toml, строка 11: ошибка в записи")


def test_validate_prints_every_problem_at_once_and_exits_1(tmp_path):
    audit = TABLES["audit"] + ["https://nosuch.ru;widget_missing;13.05.2024;", "atmr.ru;nosuch_code;32.01.2024;"]
    folder = write_data(tmp_path, audit=audit)
    result = run_letters("validate", "--data", str(folder))
    assert result.returncode == 1
    assert "Ошибки (сборка невозможна, пока они есть): 3" in result.stderr
    assert "audit.csv, строка 6, столбец «Ссылка на сайт»" in result.stderr
    assert "audit.csv, строка 7, столбец «Код ошибки»" in result.stderr
    assert "audit.csv, строка 7, столбец «Дата проверки»" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_validate_of_a_good_folder_says_what_it_found(small_data):
    result = run_letters("validate", "--data", str(small_data))
    assert result.returncode == 0, result.stderr
    assert "Ошибок нет. Муниципальных образований: 3, организаций: 4, замечаний мониторинга: 4, писем будет: 2." in result.stdout


def test_an_audit_date_that_has_not_come_yet_is_an_error(tmp_path):
    audit = TABLES["audit"] + ["uvat.ru;widget_missing;21.05.2024;"]
    problems = Problems()
    load_dataset(write_data(tmp_path, audit=audit), problems, today=dt.date(2024, 5, 20))
    assert [str(p) for p in problems.errors] == [
        "audit.csv, строка 6, столбец «Дата проверки»: дата проверки 21.05.2024 ещё не наступила: исправьте её"
    ]


def test_a_row_reported_as_wrong_is_not_reported_again_where_others_refer_to_it(tmp_path):
    municipalities = [TABLES["municipalities"][0], "Тюменский муниципальный район;Глава района;Иванов;", *TABLES["municipalities"][2:]]
    errors = [*TABLES["errors"][:2], "below_first_screen;Виджет не на первом экране;", *TABLES["errors"][3:]]
    assert errors_of(write_data(tmp_path, municipalities=municipalities, errors=errors)) == [
        "municipalities.csv, строка 2, столбец «ФИО главы»: «Иванов»: нужны фамилия, имя и отчество через пробел",
        "errors.csv, строка 3, столбец «Рекомендации по устранению»: нет текста рекомендаций: заполните ячейку",
    ]


def test_a_municipality_that_gets_a_letter_without_an_email_is_a_warning(tmp_path):
    audit = TABLES["audit"] + ["uvat.ru;widget_missing;13.05.2024;"]
    problems = problems_of(write_data(tmp_path, audit=audit))
    assert problems.errors == []
    assert [str(p) for p in problems.warnings] == [
        "municipalities.csv, строка 4, столбец «Электронная почта»: у «Уватский муниципальный район» нет адреса "
        "электронной почты, а письмо будет: впишите адрес или отправьте письмо иначе"
    ]


def test_a_deadline_before_the_letter_date_is_an_error(small_data):
    found = [str(p) for p in problems_of(small_data, on=dt.date(2024, 6, 20)).errors]
    assert found == [
        "letters.toml, строка 19, параметр «[letter] deadline»: срок ответа 14.06.2024 раньше даты письма 20.06.2024: "
        "исправьте deadline в разделе [letter] или укажите новый срок: --deadline ДД.ММ.ГГГГ"
    ]


def test_the_same_problem_is_kept_once():
    problems = Problems()
    problems.warning("проверьте", "audit.csv", 3)
    problems.warning("проверьте", "audit.csv", 3)
    problems.warning("проверьте", "audit.csv", 4)
    assert [p.row for p in problems] == [3, 4]


def test_appendix_files_give_short_file_names_and_whole_titles_stay_the_default(tmp_path):
    from letters.packs import pack_files
    from letters.settings import read_settings

    folder = write_data(tmp_path)
    problems = Problems()
    whole = read_settings(folder, problems)
    assert pack_files("1337/24", "Город Ишим", whole.appendix_file_titles).appendices[2] == (
        "1337-24 Город Ишим/Приложение 3. План мероприятий по повышению значений показателей оперативного рейтинга.docx")
    text = (folder / "letters.toml").read_text(encoding="utf-8")
    (folder / "letters.toml").write_text(text.replace("[letter]\n", '[letter]\nappendix_files = ["", "", "План"]\n'),
                                         encoding="utf-8")
    short = read_settings(folder, problems)
    assert problems == []
    assert short.appendix_titles == whole.appendix_titles  # the letter still names the whole title
    files = pack_files("1337/24", "Город Ишим", short.appendix_file_titles).appendices
    assert [f.split("/")[1] for f in files] == [
        "Приложение 1. Перечень выявленных ошибок.docx", "Приложение 2. Рекомендации по устранению ошибок.docx",
        "Приложение 3. План.docx"]


def test_appendix_files_that_are_not_a_list_are_an_error_with_the_line(tmp_path):
    folder = write_data(tmp_path)
    text = (folder / "letters.toml").read_text(encoding="utf-8")
    (folder / "letters.toml").write_text(text.replace("[letter]\n", '[letter]\nappendix_files = "План"\n'), encoding="utf-8")
    found = errors_of(folder)
    line = text.splitlines().index("[letter]") + 2
    assert any(e.startswith(f"letters.toml, строка {line}, параметр «[letter] appendix_files»: appendix_files: нужен список") for e in found), found
