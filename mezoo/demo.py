"""`python -m mezoo.demo`: the command is `mezoo.cli.demo`; the example itself is `mezoo.demo_model`."""

if __name__ == "__main__":
    from mezoo.cli.demo import main

    main()
