"""`python -m tools.extract answer.txt --out out/ [--force]`: see tools.extract.cli."""

from tools.extract.cli import make_app

if __name__ == "__main__":
    make_app()()
