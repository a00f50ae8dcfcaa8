"""`python -m mezoo.parity`: the command is `mezoo.cli.parity`."""

if __name__ == "__main__":
    from mezoo.cli.parity import main

    main()
