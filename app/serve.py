"""Start the Streamlit server in the calling process (``acap serve`` calls this after preparing
the database), so the analysis code it warmed stays loaded. Kept in app/ because acap/ never
imports streamlit."""

from __future__ import annotations

from pathlib import Path

from streamlit.web import cli as st_cli


def run(flags: dict) -> None:
    """Run app/main.py under Streamlit with the given ``server.*`` / ``client.*`` options."""
    script = Path(__file__).resolve().parent / "main.py"
    st_cli.main.main(args=["run", str(script), *(f"--{k}={v}" for k, v in flags.items())],
                     prog_name="streamlit", standalone_mode=False)
