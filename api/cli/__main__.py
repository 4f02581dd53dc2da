"""`python -m api.cli ...` is `cbec ...`."""

from api.cli import main

main()
