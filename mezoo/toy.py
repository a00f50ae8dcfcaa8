"""`python -m mezoo.toy`: the command is `mezoo.cli.toy`."""

if __name__ == "__main__":
    from mezoo.cli.toy import main

    main()
