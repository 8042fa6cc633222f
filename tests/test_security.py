"""Reads stay inside the repository, special files are refused unread, and writes never destroy.

Real git and real dvc in small temporary repositories. Every CLI call has a timeout: the
failures these tests guard against include hanging on a FIFO, and a failing test must fail,
not hang the suite.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import Result, clean_env, git, new_dvc_repo, tree_state
from mlops_ci.errors import InputError

TIMEOUT = 60  # seconds; each call below takes about one

METRICS = {"accuracy": 0.9, "roc_auc": 0.95}
SECRET = {"api_key": 4242}  # stands for a readable file elsewhere on the runner

MLOPS_YAML = """\
model:
  name: tiny
  path: model.txt
metrics:
  files: [{metrics}]
gates:
  - metric: accuracy
    min: 0.5
"""

DVC_YAML = """\
stages:
  evaluate:
    cmd: python write.py
    outs:
      - {outs}
    metrics:
      - {metrics}:
          cache: false
"""


def cli(*args: str, cwd: Path) -> Result:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mlops_ci", *args],
            cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"mlops-ci {' '.join(args)} hung for {TIMEOUT} s")
    return Result(proc.returncode, proc.stdout, proc.stderr)


def dvc(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, env=clean_env(), check=True,
        capture_output=True, timeout=TIMEOUT,
    )


def make_repo(root: Path, *, metrics: str = "metrics.json", outs: str = "model.txt") -> Path:
    """A committed git + DVC repository whose metrics file is in the workspace (no pipeline run)."""
    new_dvc_repo(root)
    (root / "mlops.yaml").write_text(MLOPS_YAML.format(metrics=metrics))
    (root / "dvc.yaml").write_text(DVC_YAML.format(metrics=metrics, outs=outs))
    (root / "write.py").write_text("")
    (root / metrics).parent.mkdir(parents=True, exist_ok=True)
    (root / metrics).write_text(json.dumps(METRICS))
    git("add", "--all", cwd=root)
    git("commit", "--quiet", "-m", "Start", cwd=root)
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.json"
    path.parent.mkdir()
    path.write_text(json.dumps(SECRET))
    return path


def refused(result: Result, *fragments: str) -> None:
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("mlops-ci: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one message
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "api_key" not in result.stdout + result.stderr


# --- reads stay inside the repository --------------------------------------------------------


def test_the_minimal_repository_reports_its_metrics(repo: Path):
    result = cli("diff", "--format", "json", cwd=repo)
    assert result.code == 0, result.stderr
    assert {m["name"] for m in json.loads(result.stdout)["metrics"]} == set(METRICS)


def test_a_metrics_file_linked_outside_the_repository_is_refused(repo: Path, secret: Path):
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to(secret)
    result = cli("diff", "--format", "json", cwd=repo)
    refused(result, "The metrics file 'metrics.json' resolves to", str(secret), "outside the "
            "repository")
    assert (repo / "metrics.json").is_symlink()


def test_a_metrics_file_dvc_yaml_declares_is_checked_too(tmp_path: Path, secret: Path):
    root = make_repo(tmp_path / "repo")
    config = root / "mlops.yaml"
    config.write_text(config.read_text().replace("  files: [metrics.json]\n", ""))
    git("commit", "--quiet", "-am", "Let dvc.yaml declare the metrics", cwd=root)
    (root / "metrics.json").unlink()
    (root / "metrics.json").symlink_to(secret)
    refused(cli("diff", "--format", "json", cwd=root), str(secret))


def test_a_params_file_linked_outside_the_repository_is_refused(repo: Path, secret: Path):
    (repo / "params.yaml").symlink_to(secret)
    refused(cli("diff", "--format", "json", cwd=repo), "The params file 'params.yaml'",
            str(secret))


def test_a_model_path_linked_outside_the_repository_is_refused(repo: Path, secret: Path):
    (repo / "model.txt").symlink_to(secret)
    refused(cli("diff", "--format", "json", cwd=repo), "model.path 'model.txt' resolves to",
            str(secret))


def test_a_symlink_inside_the_repository_is_read(repo: Path):
    (repo / "results").mkdir()
    (repo / "metrics.json").rename(repo / "results" / "metrics.json")
    (repo / "metrics.json").symlink_to(Path("results") / "metrics.json")
    result = cli("diff", "--format", "json", cwd=repo)
    assert result.code == 0, result.stderr


def test_a_metrics_fifo_is_refused_without_hanging(repo: Path):
    (repo / "metrics.json").unlink()
    os.mkfifo(repo / "metrics.json")
    refused(cli("diff", "--format", "json", cwd=repo),
            f"The metrics file {repo.resolve() / 'metrics.json'} is a named pipe (FIFO)")


def test_a_fifo_inside_a_metrics_directory_is_refused(repo: Path):
    """DVC reads every file of a metrics directory: each one is checked."""
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").mkdir()
    (repo / "metrics.json" / "a.json").write_text(json.dumps(METRICS))
    os.mkfifo(repo / "metrics.json" / "b.json")
    refused(cli("diff", "--format", "json", cwd=repo), "b.json is a named pipe (FIFO)")


@pytest.mark.slow
def test_dvc_symlink_cache_outputs_are_read_from_the_cache(tmp_path: Path, secret: Path):
    """DVC's `symlink` cache type: a metrics file inside a cached output links into the cache.

    The cache is outside the repository (`cache.dir`), as a shared cache on a runner is.
    """
    root = make_repo(tmp_path / "repo", metrics="eval/metrics.json", outs="eval")
    (root / "dvc.yaml").write_text(textwrap.dedent("""\
        stages:
          evaluate:
            cmd: python write.py
            outs:
              - eval
              - model.txt
        """))
    (root / "write.py").write_text(
        "import json, os\nos.makedirs('eval', exist_ok=True)\n"
        f"json.dump({METRICS!r}, open('eval/metrics.json', 'w'))\n"
        "open('model.txt', 'w').write('model')\n"
    )
    cache = tmp_path / "shared-cache"
    dvc("config", "cache.dir", str(cache), cwd=root)
    dvc("config", "cache.type", "symlink", cwd=root)
    git("rm", "--quiet", "-r", "eval", cwd=root)  # the output is DVC's now, not git's
    proc = subprocess.run([sys.executable, "-m", "dvc", "repro", "--quiet"], cwd=root,
                          env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    link = root / "eval" / "metrics.json"
    assert link.is_symlink() and Path(os.path.realpath(link)).is_relative_to(cache)
    assert (root / "model.txt").is_symlink()

    result = cli("diff", "--format", "json", cwd=root)
    assert result.code == 0, result.stderr
    assert {m["name"] for m in json.loads(result.stdout)["metrics"]} == set(METRICS)

    # The cache allows what DVC stored there, by its hash; not any file a link points at.
    (root / "dvc.lock").unlink()
    link.unlink()
    link.symlink_to(secret)
    refused(cli("diff", "--format", "json", cwd=root), str(secret))


def test_cache_dir_set_to_the_root_does_not_open_the_runner(repo: Path, secret: Path):
    """The pull request's own .dvc/config sets cache.dir; only hash-named entries count."""
    dvc("config", "cache.dir", "/", cwd=repo)
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to(secret)
    refused(cli("diff", "--format", "json", cwd=repo), str(secret))


# --- templates -------------------------------------------------------------------------------


def with_template_dir(repo: Path) -> Path:
    config = repo / "mlops.yaml"
    config.write_text(config.read_text() + "report:\n  template_dir: templates\n")
    return repo / "templates"


def test_a_template_dir_linked_outside_the_repository_is_refused(repo: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "report.md.j2").write_text("{{ 'x' }}")
    with_template_dir(repo).symlink_to(outside)
    refused(cli("diff", "--format", "md", cwd=repo), "report.template_dir 'templates' resolves "
            f"to {outside}", "outside the repository")


def test_a_template_linked_outside_the_template_dir_is_refused(repo: Path, secret: Path):
    templates = with_template_dir(repo)
    templates.mkdir()
    (templates / "report.md.j2").symlink_to(secret)
    refused(cli("diff", "--format", "md", cwd=repo), f"resolves to {secret}",
            "outside report.template_dir")


def test_an_include_of_a_link_outside_the_template_dir_is_refused(repo: Path, secret: Path):
    templates = with_template_dir(repo)
    templates.mkdir()
    (templates / "report.md.j2").write_text("Report\n{% include 'part.j2' %}\n")
    (templates / "part.j2").symlink_to(secret)
    refused(cli("diff", "--format", "md", cwd=repo), f"resolves to {secret}")


def test_an_include_of_a_template_in_the_dir_works(repo: Path):
    templates = with_template_dir(repo)
    templates.mkdir()
    (templates / "report.md.j2").write_text("Report\n{% include 'part.j2' %}\n")
    (templates / "real.j2").write_text("the part")
    (templates / "part.j2").symlink_to("real.j2")
    result = cli("diff", "--format", "md", cwd=repo)
    assert result.code == 0, result.stderr
    assert result.stdout == "Report\nthe part"


def test_a_template_fifo_is_refused_without_hanging(repo: Path):
    templates = with_template_dir(repo)
    templates.mkdir()
    os.mkfifo(templates / "report.md.j2")
    refused(cli("diff", "--format", "md", cwd=repo), "report.md.j2 is a named pipe (FIFO)")


# --- mlops.yaml and report.json that are not files -------------------------------------------


def test_a_fifo_as_mlops_yaml_is_refused_without_hanging(repo: Path):
    (repo / "mlops.yaml").unlink()
    os.mkfifo(repo / "mlops.yaml")
    refused(cli("gate", cwd=repo), f"{repo.resolve() / 'mlops.yaml'} is a named pipe (FIFO)")


def test_a_directory_as_mlops_yaml_says_so(repo: Path):
    (repo / "mlops.yaml").unlink()
    (repo / "mlops.yaml").mkdir()
    refused(cli("gate", cwd=repo), "mlops.yaml is a directory, not a configuration file")


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_report_that_is_not_a_file_is_refused(repo: Path, tmp_path: Path, kind: str):
    path = tmp_path / "report.json"
    if kind == "fifo":
        os.mkfifo(path)
        words = "is a named pipe (FIFO)"
    elif kind == "device":
        path.symlink_to("/dev/zero")  # read forever, if it were opened
        words = "is a device"
    else:
        path.mkdir()
        words = "is a directory"
    for command in ("gate", "card"):
        refused(cli(command, "--report", str(path), cwd=repo), f"The report {path} {words}")


# --- writes never destroy --------------------------------------------------------------------


def test_card_output_through_a_symlink_writes_the_real_file(repo: Path, tmp_path: Path):
    real = tmp_path / "cards" / "card.md"
    real.parent.mkdir()
    real.write_text("old")
    link = repo / "card.md"
    link.symlink_to(real)
    result = cli("card", "--output", str(link), cwd=repo)
    assert result.code == 0, result.stderr
    assert link.is_symlink() and real.read_text().startswith("---\n")


@pytest.mark.parametrize("kind", ["fifo", "device", "dev-null-link", "directory"])
def test_card_output_onto_a_special_file_is_refused(repo: Path, tmp_path: Path, kind: str):
    target = tmp_path / "card.md"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("creating a device node needs root")
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    elif kind == "dev-null-link":
        target.symlink_to("/dev/null")
    else:
        target.mkdir()
    before = target.lstat()
    refused(cli("card", "--output", str(target), cwd=repo), f"Cannot write {target}")
    after = target.lstat()
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_card_output_under_a_regular_file_is_refused(repo: Path, tmp_path: Path):
    (tmp_path / "file").write_text("keep")
    refused(cli("card", "--output", str(tmp_path / "file" / "card.md"), cwd=repo),
            f"{tmp_path / 'file'} is a file, not a directory")
    assert (tmp_path / "file").read_text() == "keep"


def test_run_out_onto_an_existing_file_is_refused_before_the_pipeline_runs(repo: Path):
    (repo / "out").write_text("keep")
    before = tree_state(repo)
    # One line on stderr: refused before `dvc repro` (which would print that it runs).
    refused(cli("run", "--out", "out", cwd=repo), "--out out: it is a file, not a directory")
    assert tree_state(repo) == before


def test_run_out_under_a_regular_file_is_refused(repo: Path):
    (repo / "out").write_text("keep")
    before = tree_state(repo)
    refused(cli("run", "--out", "out/reports", cwd=repo),
            f"--out out/reports: {repo.resolve() / 'out'} is a file, not a directory")
    assert tree_state(repo) == before


def test_run_keeps_the_old_set_when_one_file_cannot_be_written(repo: Path):
    assert cli("run", "--no-repro", cwd=repo).code == 0
    (repo / "metrics.json").write_text(json.dumps({"accuracy": 0.7, "roc_auc": 0.8}))
    card = repo / ".mlops" / "model-card.md"
    card.unlink()
    card.mkdir()  # the third file cannot be written
    before = tree_state(repo)
    refused(cli("run", "--no-repro", cwd=repo), f"Cannot write {card}: it is a directory")
    assert tree_state(repo) == before
    assert '"head": 0.9' in (repo / ".mlops" / "report.json").read_text()


def test_run_serialises_the_report_before_writing_any_file(repo: Path):
    """A report that cannot become JSON (here a NaN) leaves the previous set untouched."""
    from factories import make_metric, make_report
    from mlops_ci.commands.common import open_project
    from mlops_ci.commands.run import write_report_files

    out = repo / ".mlops"
    out.mkdir()
    for name in ("report.json", "report.md", "model-card.md"):
        (out / name).write_text(f"old {name}")
    before = tree_state(repo)
    report = make_report(metrics=[make_metric("accuracy", 0.9, float("nan"))])
    with pytest.raises(InputError, match="must be a finite number, not nan"):
        write_report_files(open_project(repo), report, out)
    assert tree_state(repo) == before
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_run_from_a_subdirectory_names_files_from_the_repository_root(repo: Path):
    """DVC resolves targets and names files from the working directory; mlops-ci from the root."""
    deep = repo / "src" / "deep"
    deep.mkdir(parents=True)
    result = cli("diff", "--format", "json", cwd=deep)
    assert result.code == 0, result.stderr
    assert {m["file"] for m in json.loads(result.stdout)["metrics"]} == {"metrics.json"}
    (repo / "metrics.json").unlink()
    result = cli("diff", cwd=deep)
    assert result.code == 2
    assert "The metrics file metrics.json does not exist" in result.stderr, result.stderr


def test_gate_updates_a_linked_report_through_the_link(repo: Path, tmp_path: Path):
    assert cli("run", "--no-repro", cwd=repo).code == 0
    real = tmp_path / "artifacts" / "report.json"
    real.parent.mkdir()
    (repo / ".mlops" / "report.json").rename(real)
    real.chmod(0o640)
    link = repo / ".mlops" / "report.json"
    link.symlink_to(real)
    config = repo / "mlops.yaml"
    config.write_text(config.read_text().replace("min: 0.5", "min: 0.95"))
    result = cli("gate", cwd=repo)
    assert result.code == 1, result.stderr  # accuracy 0.9 now fails its gate
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["verdict"]["status"] == "fail"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


@pytest.mark.parametrize(("name", "what"), [
    ("dvc.yaml", "DVC's file {}"), ("dvc.lock", "{}"),  # the lock's reader words its own
])
def test_a_fifo_as_a_dvc_file_is_refused_without_hanging(repo: Path, name: str, what: str):
    (repo / name).unlink(missing_ok=True)
    os.mkfifo(repo / name)
    refused(cli("diff", cwd=repo), what.format(repo / name) + " is a named pipe (FIFO)")


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)


@pytest.mark.parametrize("command", [("diff",), ("run",)], ids=["diff", "run"])
def test_an_alias_bomb_in_params_yaml_is_refused_before_dvc_loads_it(
    repo: Path, command: tuple[str, ...]
):
    # DVC loads params.yaml as the pipeline's variables, aliases expanded: it would hang there
    (repo / "params.yaml").write_text(ALIAS_BOMB)
    before = tree_state(repo)
    refused(cli(*command, cwd=repo), f"{repo / 'params.yaml'} expands to more than 1,000,000")
    assert tree_state(repo) == before


def test_yaml_expansion_counts_aliases_without_expanding_them():
    from mlops_ci.security import yaml_expansion_problem

    assert yaml_expansion_problem(ALIAS_BOMB) is not None
    assert yaml_expansion_problem("d: &x {e: 1, f: [1, 2]}\ng: *x\nh: [*x, *x]\n") is None
    # each list counts as one value plus its items: 1 + 3 + 3 + 3 = 10, aliases included
    assert yaml_expansion_problem("[&a [1, 2], *a, *a]", limit=10) is None
    assert yaml_expansion_problem("[&a [1, 2], *a, *a]", limit=9) is not None
    assert yaml_expansion_problem("[unclosed") is None  # syntax errors are the reader's to name
