"""`python -m mezoo.analyze`: the command is `mezoo.cli.analyze`."""

if __name__ == "__main__":
    from mezoo.cli.analyze import main

    main()
