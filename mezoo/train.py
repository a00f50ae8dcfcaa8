"""`python -m mezoo.train`: the command is `mezoo.cli.train`; from Python, `mezoo.training.trainer.train`."""

if __name__ == "__main__":
    from mezoo.cli.train import main

    main()
