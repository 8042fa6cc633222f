"""Parse every Mermaid block of some markdown with mermaid's own parser, as GitHub draws them.

The blocks are found the way GitHub finds them: the markdown rendered by cmarkgfm (GitHub's
cmark fork), each ``<pre lang="mermaid">`` taken back to its text. mermaid's ``parse()`` runs
under node with jsdom as its window (tests/mermaid/parse.mjs; `make` installs it with `npm ci`).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import cmarkgfm

CHECKER = Path(__file__).parent / "mermaid"
_BLOCK = re.compile(r'<pre lang="mermaid"><code>(.*?)</code></pre>', re.DOTALL)


def mermaid_blocks(markdown: str) -> list[str]:
    """The text of each Mermaid block GitHub would draw from *markdown*."""
    rendered = cmarkgfm.github_flavored_markdown_to_html(markdown)
    return [html.unescape(block) for block in _BLOCK.findall(rendered)]


def mermaid_errors(blocks: list[str]) -> list[str]:
    """mermaid's parse error for each block that has one ("error N: ..."); [] when all parse."""
    node = shutil.which("node")
    assert node, "node is needed to parse Mermaid blocks (tests/mermaid)"
    assert (CHECKER / "node_modules" / "mermaid").is_dir(), (
        "mermaid is not installed for the tests: run `make test` (its set-up runs "
        "`npm ci --prefix tests/mermaid`)."
    )
    done = subprocess.run(
        [node, str(CHECKER / "parse.mjs")], input=json.dumps(blocks), capture_output=True,
        text=True, timeout=120, check=False,
    )
    errors = [line for line in done.stdout.splitlines() if line.startswith("error ")]
    assert (done.returncode == 0) == (not errors), done.stdout + done.stderr
    assert len(done.stdout.splitlines()) == len(blocks), done.stdout + done.stderr
    return errors
