"""`python -m mezoo.predict`: the command is `mezoo.cli.predict`."""

if __name__ == "__main__":
    from mezoo.cli.predict import main

    main()
