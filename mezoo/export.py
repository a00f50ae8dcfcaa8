"""`python -m mezoo.export`: the command is `mezoo.cli.export`."""

if __name__ == "__main__":
    from mezoo.cli.export import main

    main()
