"""Write the generated reference pages: docs/reference/cli.md and docs/reference/schema.md."""

from __future__ import annotations

from pathlib import Path

from costline.cli.docs import render_cli_reference
from costline.schema.focus import schema_reference

if __name__ == "__main__":
    ref = Path(__file__).resolve().parents[1] / "docs" / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "cli.md").write_text(render_cli_reference())
    (ref / "schema.md").write_text(schema_reference())
    print(f"wrote {ref / 'cli.md'} and {ref / 'schema.md'}")
