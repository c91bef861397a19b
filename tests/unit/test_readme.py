"""The README's two commands are the ones CI runs, and every command it shows exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_blocks() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for name in ("demo", "test"):
        assert f"<!-- ci:{name} -->" in README and f"<!-- /ci:{name} -->" in README
        assert f"readme_block {name}" in ci
    assert "pytest" in README.split("<!-- ci:test -->")[1].split("<!-- /ci:test -->")[0]


def _shown_commands() -> list[list[str]]:
    out = []
    joined = README.replace("\\\n", " ")
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("coopledger "):
            line = re.sub(r'"\$\([^)]*\)"', "SUBST", line)
            words = shlex.split(line.split(" # ")[0])
            out.append(words[1:])
    return out


@pytest.mark.parametrize("words", _shown_commands(), ids=lambda w: " ".join(w[:2]))
def test_every_readme_command_exists(words: list[str]) -> None:
    from click.testing import CliRunner

    from cli.main import cli

    path = [w for w in words if not w.startswith("-") and re.match(r"^[a-z][a-z-]*$", w)]
    group = cli
    ctx_words = []
    for word in path:
        sub = group.get_command(None, word) if hasattr(group, "get_command") else None  # type: ignore[arg-type]
        if sub is None:
            break
        ctx_words.append(word)
        group = sub
    result = CliRunner().invoke(cli, [*ctx_words, "--help"])
    assert result.exit_code == 0, result.output
    for option in [w.split("=")[0] for w in words if w.startswith("--")]:
        assert option in result.output, f"{' '.join(ctx_words)} has no option {option}"
