"""A git repository for registry tests: annotated tags with distinct tagger dates."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import clean_env, git
from mlops_ci.registry import Registry, read_registry


class TagRepo:
    """A git repository whose commits and tags are dated one second apart, in order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = 0
        root.mkdir(parents=True, exist_ok=True)
        git("init", "-q", "-b", "main", cwd=root)
        self.commits: list[str] = []
        self.commit("first")

    def commit(self, message: str) -> str:
        self.run("commit", "-q", "--allow-empty", "-m", message)
        sha = git("rev-parse", "HEAD", cwd=self.root)
        self.commits.append(sha)
        return sha

    def tag(self, name: str, rev: str = "HEAD", *, message: str = "") -> None:
        """`git tag -a NAME -m MESSAGE REV`: an annotated tag, as GTO and mlops-ci write."""
        self.run("tag", "-a", name, "-m", message or f"tag {name}", rev)

    def lightweight(self, name: str, rev: str = "HEAD") -> None:
        git("tag", name, rev, cwd=self.root)

    def run(self, *args: str) -> None:
        self.clock += 1
        date = f"{1714557600 + self.clock} +0000"
        env = {**clean_env(), "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
        subprocess.run(["git", *args], cwd=self.root, env=env, check=True)

    def read(self) -> Registry:
        return read_registry(self.root)
