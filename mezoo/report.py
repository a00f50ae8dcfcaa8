"""`python -m mezoo.report`: the command is `mezoo.cli.report`."""

if __name__ == "__main__":
    from mezoo.cli.report import main

    main()
