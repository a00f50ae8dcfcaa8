"""`python -m mezoo.evaluate`: the command is `mezoo.cli.evaluate`; from Python,
`mezoo.training.evaluation.evaluate_run`."""

if __name__ == "__main__":
    from mezoo.cli.evaluate import main

    main()
