"""`python -m pgsage.analyzer`: the same command as `pgsage`."""

from pgsage.analyzer.app.cli import main

if __name__ == "__main__":
    main()
