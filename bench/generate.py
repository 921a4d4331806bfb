"""Synthetic data folders at any scale, for the benchmark.

    python bench/generate.py OUT_DIR --municipalities 300 --orgs 10 --findings 2 [--heavy 3] [--seed 1]

Each municipality gets `--orgs` institutions and on average `--findings` findings per
institution; `--heavy` municipalities get hundreds of findings (appendix 1 of 10+ pages).
Names have realistic lengths; letters.toml, errors and plan come from the sample in data/.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parent.parent / "data"
KINDS = [
    "Муниципальное автономное общеобразовательное учреждение «Средняя общеобразовательная школа № {n}»",
    "Муниципальное автономное дошкольное образовательное учреждение «Детский сад № {n} «Солнышко»»",
    "Муниципальное автономное учреждение культуры «Централизованная библиотечная система № {n}»",
    "Государственное бюджетное учреждение здравоохранения Тюменской области «Областная больница № {n}»",
    "Муниципальное автономное учреждение дополнительного образования «Детская школа искусств № {n}»",
    "Администрация сельского поселения № {n}",
]
FIRST = ["Иван", "Сергей", "Мария", "Ольга", "Алексей", "Елена", "Дмитрий", "Наталья", "Андрей", "Татьяна"]
PATRONYMIC = {"Иван": "Петрович", "Сергей": "Иванович", "Мария": "Сергеевна", "Ольга": "Викторовна",
              "Алексей": "Андреевич", "Елена": "Павловна", "Дмитрий": "Олегович", "Наталья": "Ивановна",
              "Андрей": "Юрьевич", "Татьяна": "Николаевна"}
SURNAME = {"m": ["Кузнецов", "Смирнов", "Попов", "Васильев", "Соколов", "Ким", "Черных", "Римский-Корсаков"],
           "f": ["Кузнецова", "Смирнова", "Попова", "Васильева", "Соколова", "Ким", "Черных", "Петрова-Водкина"]}
COMMENTS = ["Виджет расположен в подвале страницы, на высоте 2140 px",
            "Ширина контейнера ограничена 200 px правилом CSS .sidebar",
            "ID в коде виджета не совпадает с ЛКО", "HTTP 503 при обращении к главной странице", ""]


def generate(out: Path, municipalities: int, orgs: int, findings: float, heavy: int, seed: int) -> None:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("letters.toml", "errors.xlsx", "plan.xlsx"):
        shutil.copy(SAMPLE / name, out / name)
    codes = pd.read_excel(SAMPLE / "errors.xlsx", dtype=str, engine="calamine")["Код ошибки"].tolist()
    heads, registry, audit = [], [], []
    for m in range(municipalities):
        municipality = f"Муниципальный район № {m + 1} «{rng.choice(['Северный', 'Южный', 'Приозёрный', 'Заречный'])}»"
        first = rng.choice(FIRST)
        sex = "f" if PATRONYMIC[first].endswith("на") else "m"
        heads.append([municipality, f"Глава муниципального района № {m + 1}",
                      f"{rng.choice(SURNAME[sex])} {first} {PATRONYMIC[first]}", f"glava{m + 1}@mr{m + 1}.example.ru"])
        count = orgs * (30 if m < heavy else 1)
        for o in range(count):
            site = f"https://org{o + 1}.mr{m + 1}.example.ru"
            registry.append([rng.choice(KINDS).format(n=o + 1) + f" района № {m + 1}", municipality, site, str(1000000 + m * 1000 + o)])
            for code in rng.sample(codes, k=min(len(codes), _poisson(rng, findings))):
                audit.append([site, code, f"{rng.randint(13, 17)}.05.2024", rng.choice(COMMENTS)])
    pd.DataFrame(heads, columns=["Муниципальное образование", "Должность главы", "ФИО главы", "Электронная почта"]).to_csv(out / "municipalities.csv", index=False, sep=";")
    pd.DataFrame(registry, columns=["Наименование органа власти", "Муниципальное образование", "Ссылка на сайт", "ЛКО для сообщений"]).to_csv(out / "organizations.csv", index=False, sep=";")
    pd.DataFrame(audit, columns=["Ссылка на сайт", "Код ошибки", "Дата проверки", "Комментарий"]).to_csv(out / "audit.csv", index=False, sep=";")


def _poisson(rng: random.Random, mean: float) -> int:
    count, limit, product = 0, pow(2.718281828, -mean), rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--municipalities", type=int, default=30)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--findings", type=float, default=2, help="average findings per institution")
    parser.add_argument("--heavy", type=int, default=1, help="municipalities with 30× the institutions")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.municipalities, args.orgs, args.findings, args.heavy, args.seed)


if __name__ == "__main__":
    main()
