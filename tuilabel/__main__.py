"""`python -m tuilabel` runs the same CLI as the `tuilabel` console script."""

from tuilabel.cli import main

if __name__ == "__main__":
    main()
