"""Build the Pillow thumbnail app with laambda (cold and warm) and the naive way; print the times.

    .venv/bin/python bench/bench_build.py [--runs 3]

cold  : laambda, wheel builder, empty dependency cache and empty download cache
warm  : laambda, the handler's code changed, dependencies unchanged (cache from the cold run)
bare  : uv platform-wheel install into a folder plus `zip -r` (level 4, as laambda), empty
        download cache: the floor for a cold build (goal: cold within 1.2x of it)
pip   : the same bare install with `pip install --platform manylinux2014_x86_64 --only-binary`
naive : `pip install -r requirements.txt -t dir` then `zip -r9`, as the laambda blog post does,
        with pip's download cache already warm (goal: warm at least 5x faster)
Each figure is the median of --runs runs. Needs the package index; no AWS, no Docker.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "fixtures" / "apps" / "thumbs"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAAMBDA_SECRET_KEY", "benchmark-secret-key-that-is-long-enough-01234")

from laambda.building.pipeline import build_source  # noqa: E402
from laambda.config import Settings  # noqa: E402


def tarball(path: Path, *, revision: int) -> Path:
    """The app as git archive would send it; `revision` changes the code, not the dependencies."""
    with tarfile.open(path, "w") as archive:
        for file in sorted(APP.rglob("*")):
            archive.add(file, arcname=file.relative_to(APP).as_posix(), recursive=False)
        data = f"REVISION = {revision}\n".encode()
        info = tarfile.TarInfo("revision.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def timed(action: Callable[..., None], *args: Path) -> float:
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def laambda_build(source: Path, work: Path, data: Path) -> None:
    settings = Settings(data_dir=data, builder="wheels")
    shutil.rmtree(work, ignore_errors=True)
    build_source(
        source, app_name="thumbs", workdir=work, settings=settings, store=None, log=lambda _: None
    )


def zip_folder(folder: Path, out: Path, level: str) -> None:
    out.unlink(missing_ok=True)
    subprocess.run(["zip", f"-r{level}", "-q", str(out), "."], cwd=folder, check=True)


def bare(base: Path) -> None:
    """uv's platform-wheel install plus zip, with an empty download cache."""
    target, cache = base / "bare-target", base / "bare-cache"
    for folder in (target, cache):
        shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", sys.executable,
         "--python-platform", "x86_64-manylinux_2_17", "--python-version", "3.11",
         "--only-binary", ":all:", "--target", str(target), "-r", str(APP / "requirements.txt")],
        env={**os.environ, "UV_CACHE_DIR": str(cache)},
        check=True,
    )  # fmt: skip
    shutil.copytree(APP, target, dirs_exist_ok=True)
    zip_folder(target, base / "bare.zip", "4")  # zlib level 4, as laambda uses


def bare_pip(base: Path) -> None:
    """The same platform-wheel install with pip instead of uv (why the wheel builder uses uv)."""
    target, cache = base / "pip-target", base / "pip-empty-cache"
    for folder in (target, cache):
        shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--only-binary=:all:",
         "--no-compile", "--cache-dir", str(cache), "--target", str(target),
         "-r", str(APP / "requirements.txt")],
        check=True,
    )  # fmt: skip
    shutil.copytree(APP, target, dirs_exist_ok=True)
    zip_folder(target, base / "bare-pip.zip", "4")


def naive(base: Path) -> None:
    """The blog post's way: pip install -t, copy the code in, zip -r9."""
    target = base / "naive-target"
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--cache-dir", str(base / "pip-cache"), "-r", str(APP / "requirements.txt"),
         "-t", str(target)],
        check=True,
    )  # fmt: skip
    shutil.copytree(APP, target, dirs_exist_ok=True)
    zip_folder(target, base / "naive.zip", "9")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {"cold": [], "warm": [], "bare": [], "pip": [], "naive": []}
    with tempfile.TemporaryDirectory(prefix="laambda-bench-") as tmp:
        base = Path(tmp)
        naive(base)  # warm pip's download cache once: the naive way at its best
        for run in range(runs):
            data = base / f"data-{run}"
            first = tarball(base / "a.tar", revision=run * 2)
            changed = tarball(base / "b.tar", revision=run * 2 + 1)
            times["cold"].append(timed(laambda_build, first, base / "w", data))
            times["warm"].append(timed(laambda_build, changed, base / "w", data))
            times["bare"].append(timed(bare, base))
            times["pip"].append(timed(bare_pip, base))
            times["naive"].append(timed(naive, base))
        sizes = {
            "laambda": (base / "w" / "artifact.zip").stat().st_size,
            "naive": (base / "naive.zip").stat().st_size,
        }
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"Pillow thumbnail app, median of {runs} runs (seconds)")
    print(f"{'laambda cold (empty cache)':<40}{median['cold']:>8.2f}")
    print(f"{'laambda warm (code changed)':<40}{median['warm']:>8.2f}")
    print(f"{'bare uv platform wheels + zip -r4':<40}{median['bare']:>8.2f}")
    print(f"{'bare pip --platform wheels + zip -r4':<40}{median['pip']:>8.2f}")
    print(f"{'naive pip install -t + zip -r9':<40}{median['naive']:>8.2f}")
    print(f"cold / bare  = {median['cold'] / median['bare']:.2f}  (goal <= 1.2)")
    print(f"naive / warm = {median['naive'] / median['warm']:.1f}  (goal >= 5)")
    print(f"artifact: laambda {sizes['laambda'] / 1e6:.1f} MB, naive {sizes['naive'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
