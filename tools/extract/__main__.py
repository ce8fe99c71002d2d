"""`python -m tools.extract answer.txt --out out/ [--force]`: see tools.extract.cli."""

from tools.extract.cli import _make_app

if __name__ == "__main__":
    _make_app()()
