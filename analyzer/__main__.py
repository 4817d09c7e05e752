"""`python -m analyzer`: the same command as `pgsage`."""

from analyzer.cli import main

if __name__ == "__main__":
    main()
