"""`python -m mezoo.compare`: the command is `mezoo.cli.compare`."""

if __name__ == "__main__":
    from mezoo.cli.compare import main

    main()
