"""Type-check generated packages the three ways people check them.

    python -m chip_quality_dev.typecheck     # generated/ and every golden case's output

1. **mypy --strict, fresh**: an empty cache.
2. **mypy --strict, warm**: again, against a cache that another package filled
   first, as a CI job's kept cache or a developer's is: pydantic and asyncpg come
   from the cache, the package itself is checked anew. mypy reads some types back
   from its cache differently from how it read them from source (python/mypy#21587:
   pydantic's `TypeForm[T]` becomes `type[T]`), so this run can fail where a fresh
   one passes.
3. **pyright, strict** (basedpyright: the PyPI build that ships its own Node).

Every golden package is checked in one run of each checker (one mypy run per cache
state): far quicker than a run per case, and the same for each package, which no
other package of the run imports. Warm runs: the golden packages on a cache filled
by checking generated/, generated/ on one filled by checking the golden packages.
mypy runs with `strict` and pydantic's plugin, as `make typecheck` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlc_gen_asyncpg.render import runtime_source
from sqlc_gen_asyncpg.render_query import RUNTIME

GENERATED = Path("generated")
PROJECT = "chip_quality_queries"
CASES = Path("tests/generator/cases")
RUNTIME_FILE = f"{RUNTIME}.py"  # not stored with a golden case: the plugin's runtime.py

MYPY_CONFIG = "[mypy]\nstrict = True\nplugins = pydantic.mypy\n"
# Strict, and nothing else: the checker's own defaults for everything strict leaves.
PYRIGHT_CONFIG = {"typeCheckingMode": "strict", "pythonVersion": "3.11"}


@dataclass(frozen=True)
class Package:
    """A generated package: `root/name/`, importable with `root` (and `extra`) on the path."""

    name: str
    root: Path
    extra: tuple[Path, ...] = ()  # a golden case's own folder: its override types' modules

    @property
    def path(self) -> Path:
        return self.root / self.name


@dataclass(frozen=True)
class Outcome:
    check: str  # which checker, which cache
    what: str  # which packages
    returncode: int
    output: str
    seconds: float

    @property
    def clean(self) -> bool:
        return self.returncode == 0

    def summary(self) -> str:
        verdict = "clean" if self.clean else "FAILED"
        return f"{self.check}: {self.what}: {verdict} ({self.seconds:.1f} s)"


def install_case(case: Path, target: Path) -> list[Package]:
    """A golden case's expected output in `target`, with the `_runtime.py` of each
    package put back: its packages."""
    shutil.copytree(case / "expected", target)
    packages = []
    for folder in sorted(p for p in target.iterdir() if p.is_dir()):
        (folder / RUNTIME_FILE).write_text(runtime_source())
        packages.append(Package(folder.name, target, (case.resolve(),)))
    return packages


def golden_packages(scratch: Path, root: Path = Path()) -> list[Package]:
    """Every golden case's packages (of the checkout at `root`), installed under `scratch`."""
    cases = root / CASES
    return [
        package
        for case in sorted(p for p in cases.iterdir() if (p / "expected").is_dir())
        for package in install_case(case, scratch / case.name)
    ]


def project_package(root: Path = Path()) -> Package:
    return Package(PROJECT, (root / GENERATED).resolve())


def _search_path(packages: Sequence[Package]) -> list[str]:
    return list(dict.fromkeys(str(folder) for p in packages for folder in (p.root, *p.extra)))


def _what(packages: Sequence[Package]) -> str:
    golden = sum(p.name != PROJECT for p in packages)
    parts = [f"{GENERATED}/"] if any(p.name == PROJECT for p in packages) else []
    if golden:
        parts.append(f"{golden} golden packages")
    return " and ".join(parts)


def _run(
    check: str,
    packages: Sequence[Package],
    command: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
) -> Outcome:
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, env=env)
    output = (result.stdout + result.stderr).strip()
    return Outcome(check, _what(packages), result.returncode, output, time.monotonic() - started)


def mypy(packages: Sequence[Package], cache: Path, check: str = "mypy") -> Outcome:
    """mypy --strict (and pydantic's plugin) over `packages`, with the cache `cache`."""
    cache.mkdir(parents=True, exist_ok=True)
    config = cache.parent / "mypy.ini"
    config.write_text(MYPY_CONFIG)
    env = {**os.environ, "MYPYPATH": os.pathsep.join(_search_path(packages))}
    names = [arg for p in packages for arg in ("-p", p.name)]
    command = [sys.executable, "-m", "mypy", "--config-file", str(config)]
    command += ["--cache-dir", str(cache), *names]
    # From the cache's folder: nothing of the working directory on mypy's path.
    return _run(check, packages, command, cache.parent, env)


def pyright(packages: Sequence[Package], scratch: Path) -> Outcome:
    """pyright in strict mode (basedpyright) over `packages`; it fails too when it
    analysed fewer files than the packages hold (an `include` it ignored)."""
    config = scratch / "pyrightconfig.json"
    settings = {
        **PYRIGHT_CONFIG,
        # Relative to the config's folder: pyright (not basedpyright) ignores absolute ones.
        "include": [os.path.relpath(p.path, scratch) for p in packages],
        "extraPaths": _search_path(packages),
    }
    config.write_text(json.dumps(settings, indent=1))
    command = [sys.executable, "-m", "basedpyright", "-p", str(config), "--outputjson"]
    command += ["--pythonpath", sys.executable]
    outcome = _run("pyright strict", packages, command, scratch)
    try:
        report = json.loads(outcome.output[outcome.output.index("{") :])
    except ValueError:
        return replace(outcome, returncode=outcome.returncode or 1)  # no report: say why
    lines = [
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['severity']}: {d['message']}"
        + (f" ({d['rule']})" if "rule" in d else "")
        for d in report["generalDiagnostics"]
    ]
    files = sum(1 for p in packages for _ in p.path.rglob("*.py"))
    analysed = report["summary"]["filesAnalyzed"]
    if analysed < files:
        lines.append(f"pyright analysed {analysed} files of the {files} the packages hold")
    returncode = outcome.returncode or int(analysed < files)
    return replace(outcome, returncode=returncode, output="\n".join(lines))


def check_all(scratch: Path, root: Path = Path()) -> list[Outcome]:
    """The three checks over generated/ and every golden case's output (of the checkout
    at `root`), with `scratch` for the caches and the installed golden packages."""
    project = [project_package(root)]
    golden = golden_packages(scratch / "golden", root)
    # Each side's fresh run fills the cache the other side's warm run starts from.
    golden_first, project_first = (
        scratch / "golden-first" / "cache",
        scratch / "project-first" / "cache",
    )
    return [
        mypy(project, project_first, "mypy --strict, fresh"),
        mypy(golden, golden_first, "mypy --strict, fresh"),
        mypy(project, golden_first, "mypy --strict, warm cache"),
        mypy(golden, project_first, "mypy --strict, warm cache"),
        pyright([*project, *golden], scratch),
    ]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="typecheck-") as tmp:
        outcomes = check_all(Path(tmp))
    for outcome in outcomes:
        if not outcome.clean:
            print(outcome.output)
    for outcome in outcomes:
        print(f"typecheck-generated: {outcome.summary()}")
    return 0 if all(outcome.clean for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
