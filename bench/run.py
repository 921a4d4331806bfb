"""The benchmark: a build at a given scale against the floor and the naive way.

    python bench/run.py --municipalities 300 [--orgs 10 --findings 2 --heavy 3] [--naive-sample 40] [--bare]
    python bench/run.py --long 250,500,1000,2000     # appendix 1 with that many findings

For a scale it generates a data folder (bench/generate.py), then measures in one run:
- build: `letters build` from nothing (wall time, peak RSS of the letters process itself);
- rerun: the same build again, nothing changed;
- floor: two `soffice` batch processes side by side converting the very same .docx files,
  in calls of at most 200 files (LibreOffice ignores the files after about the 250th
  argument of a call), every PDF checked: the least any build can take;
- naive: render, then one `soffice` process per file; timed on a sample of files and
  extrapolated to all of them (at 3,000 municipalities the real thing would take hours);
- extras: the overview's thumbnails and `к печати.pdf` made again, alone, from the build's
  PDFs (the work they are), and a bare build without them (what they add to a build, which
  makes the thumbnails while LibreOffice converts and the print file after its last PDF;
  with --bare).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate  # noqa: E402

BUILD = """
import datetime as dt, json, resource, sys, time
from pathlib import Path
from letters import overview, pipeline
if sys.argv[5:] == ["bare"]:  # without the overview's thumbnails and the print file, to see what they cost
    overview.Ahead.pack_made = lambda self, letter, pdfs: None
    overview.thumbnail = lambda folder, live, row: ""
    overview.print_file = lambda *args, **kwargs: None
request = pipeline.BuildRequest(date=dt.date(2024, 5, 20), data=Path(sys.argv[1]), out=Path(sys.argv[2]),
                                templates=Path(sys.argv[3]), journal=sys.argv[4], jobs=2)
started = time.perf_counter()
result = pipeline.build(request)
seconds = time.perf_counter() - started
assert not result.problems.has_errors, [str(p) for p in result.problems.errors]
print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "packs": len(result.packs)}))
"""


EXTRAS = """
import json, sys, tempfile, time
from pathlib import Path
from letters import overview
from letters.packs import PackFiles, read_manifest, row_paths
from letters.printing import one_pdf
folder = Path(sys.argv[1])
rows = read_manifest(folder)
with tempfile.TemporaryDirectory() as name:
    started = time.perf_counter()
    for i, row in enumerate(rows):
        overview._render(folder / PackFiles.pdf(row["letter"]), Path(name) / f"{i}.png")
    thumbnails = time.perf_counter() - started
    started = time.perf_counter()
    one_pdf([[folder / p for p in row_paths(row) if p.endswith(".pdf")] for row in rows], Path(name) / "print.pdf")
    print(json.dumps({"thumbnails": thumbnails, "print": time.perf_counter() - started}))
"""


def extras(folder: Path) -> dict:
    output = subprocess.run([sys.executable, "-c", EXTRAS, str(folder)], capture_output=True, text=True, check=True,
                            cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_build(data: Path, out: Path, journal: Path, *how: str) -> dict:
    started = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", BUILD, str(data), str(out), str(ROOT / "letters" / "templates"), str(journal),
                             *how], capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started  # with Python's start-up and imports
    return result


# LibreOffice 7.4 silently ignores the file arguments after about the 250th (it converted
# 247 of 400 files with six other arguments, and exits 0): a batch call takes at most this many.
BATCH = 200


def soffice_batch(files: list[Path], outdir: Path, profile: Path) -> None:
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "pdf", "--outdir", str(outdir), *map(str, files)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def flat_copies(folder: Path, work: Path) -> list[Path]:
    """Every .docx of the build under a unique name (LibreOffice writes <stem>.pdf)."""
    work.mkdir(parents=True)
    copies = []
    for i, docx in enumerate(sorted(folder.rglob("*.docx"))):
        copy = work / f"{i:06d}.docx"
        shutil.copyfile(docx, copy)
        copies.append(copy)
    return copies


def floor(files: list[Path], tmp: Path) -> float:
    """Two lanes side by side, each with its own warm profile, converting half the files
    in batch calls of BATCH files one after another; every PDF must be there."""
    for i in range(2):  # warm the profiles: the first start of a new profile is slow, and builds reuse theirs
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation={(tmp / f'p{i}').as_uri()}", "--terminate_after_init"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outdir = tmp / "floor"

    def lane(i: int) -> None:
        half = files[i::2]
        for start in range(0, len(half), BATCH):
            soffice_batch(half[start:start + BATCH], outdir, tmp / f"p{i}")

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lane, range(2)))
    seconds = time.perf_counter() - started
    missing = [f.name for f in files if not (outdir / f"{f.stem}.pdf").is_file()]
    if missing:
        raise SystemExit(f"floor: LibreOffice left {len(missing)} of {len(files)} files without a PDF, e.g. {missing[:3]}")
    return seconds


def naive(files: list[Path], sample: int, tmp: Path) -> tuple[float, int]:
    """Seconds per file with one soffice process per file (sequential, as a script would do)."""
    chosen = files[:: max(1, len(files) // sample)][:sample]
    started = time.perf_counter()
    for file in chosen:
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation={(tmp / 'naive').as_uri()}",
                        "--convert-to", "pdf", "--outdir", str(tmp / "naive-out"), str(file)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) / len(chosen), len(chosen)


def render_seconds(build: dict, floor_seconds: float) -> float:
    """What the build spent outside LibreOffice, as a stand-in for the naive way's rendering."""
    return max(0.0, build["seconds"] - floor_seconds)


def scale(args) -> None:
    with tempfile.TemporaryDirectory(prefix="letters-bench-") as name:
        tmp = Path(args.keep or name)  # --keep: the data, builds and journal stay there, to look into
        data = tmp / "data"
        generate(data, args.municipalities, args.orgs, args.findings, args.heavy, args.seed)
        first = run_build(data, tmp / "out", tmp / "journal.sqlite")
        rerun = run_build(data, tmp / "out", tmp / "journal.sqlite")
        made = extras(tmp / "out" / "2024-05-20")
        bare = run_build(data, tmp / "bare", tmp / "bare.sqlite", "bare") if args.bare else first
        files = flat_copies(tmp / "out" / "2024-05-20", tmp / "flat")
        floor_seconds = floor(files, tmp)
        per_file, sampled = naive(files, args.naive_sample, tmp)
        naive_seconds = render_seconds(first, floor_seconds) + per_file * len(files)
        report = {
            "municipalities": args.municipalities, "documents": len(files), "packs": first["packs"],
            "build_s": round(first["seconds"], 1), "build_wall_s": round(first["wall"], 1),
            "rss_mb": round(first["rss_mb"]), "rerun_s": round(rerun["seconds"], 2),
            "floor_s": round(floor_seconds, 1), "naive_s": round(naive_seconds, 1), "naive_sample": sampled,
            "build_over_floor": round(first["seconds"] / floor_seconds, 2),
            "naive_over_build": round(naive_seconds / first["seconds"], 1),
            "rerun_over_build": round(rerun["seconds"] / first["seconds"], 3),
            "thumbnails_s": round(made["thumbnails"], 2), "print_s": round(made["print"], 2),
            "extras_over_build": round((made["thumbnails"] + made["print"]) / first["seconds"], 3),
            "bare_build_s": round(bare["seconds"], 1),
            "build_over_bare": round(first["seconds"] / bare["seconds"], 3),
        }
        print(json.dumps(report, ensure_ascii=False))
        print(f"| {args.municipalities} | {len(files)} | {report['build_s']} | {report['floor_s']} | "
              f"{report['build_over_floor']}× | {report['naive_s']} ({sampled} files) | {report['naive_over_build']}× | "
              f"{report['rerun_s']} ({report['rerun_over_build'] * 100:.1f} %) | {report['rss_mb']} | "
              f"{report['thumbnails_s']} + {report['print_s']} ({report['extras_over_build'] * 100:.1f} %) | "
              f"{report['bare_build_s']} ({report['build_over_bare']}×) |")


def long_tables(sizes: list[int]) -> None:
    """Appendix 1 of one municipality with N findings: seconds and pages, per page."""
    sys.path.insert(0, str(ROOT))
    import datetime as dt

    from letters.context import pack_context
    from letters.convert import Converter, find_soffice, page_count
    from letters.render import Template
    from letters.validate import load_dataset
    from letters.problems import Problems

    template = Template.load(ROOT / "letters" / "templates" / "appendix1.docx")
    with tempfile.TemporaryDirectory(prefix="letters-long-") as name:
        tmp = Path(name)
        for size in sizes:
            data = tmp / f"d{size}"
            generate(data, 1, orgs=max(1, size // 9), findings=9, heavy=0, seed=size)  # 9 codes per site
            dataset = load_dataset(data, Problems())
            municipality = dataset.municipalities[0]
            docx = tmp / f"a{size}.docx"
            docx.write_bytes(template.render(pack_context(dataset, municipality, "1/24", dt.date(2024, 5, 20))))
            started = time.perf_counter()
            pdf = Converter(find_soffice(), jobs=1, timeout_per_document=3600).convert([docx], tmp / f"o{size}")[docx]
            seconds = time.perf_counter() - started
            pages = page_count(pdf)
            findings = len(dataset.findings)
            print(f"| {findings} | {pages} | {seconds:.1f} | {seconds / pages * 1000:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--municipalities", type=int, default=30)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--findings", type=float, default=2)
    parser.add_argument("--heavy", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive-sample", type=int, default=40)
    parser.add_argument("--bare", action="store_true", help="also build without thumbnails and the print file")
    parser.add_argument("--keep", help="a new folder to run in and leave behind (default: a temporary one)")
    parser.add_argument("--long", help="comma-separated numbers of findings for one long appendix 1")
    args = parser.parse_args()
    if args.long:
        long_tables([int(n) for n in args.long.split(",")])
    else:
        scale(args)


if __name__ == "__main__":
    os.environ.setdefault("LETTERS_SOFFICE", shutil.which("soffice") or "")
    main()
