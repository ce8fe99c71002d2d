"""`python -m tools.sandbox`: see tools.sandbox.overhead."""

from tools.sandbox.overhead import main

if __name__ == "__main__":
    main()
