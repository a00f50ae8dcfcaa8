"""`python -m mezoo.scaling`: the command is `mezoo.cli.scaling`."""

if __name__ == "__main__":
    from mezoo.cli.scaling import main

    main()
