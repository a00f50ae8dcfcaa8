"""Running a command's `main(argv)` in-process as a user would, and checking how it fails."""

import pytest


def error_line(err: str, message: str) -> str:
    """The one line of a command's stderr `err` that starts with `error: `; it names `message`, no traceback."""
    assert err.strip(), "nothing printed to stderr"
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, f"{len(errors)} error lines: {err[-3000:]}"
    assert message in errors[0], err[-2000:]
    return errors[0]


def fails_with(main, args, capsys, message, status=2):
    """`main(args)` exits with `status`, its stderr one `error:` line naming `message` (its last line), no traceback."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    err = capsys.readouterr().err
    assert exit_info.value.code == status, err[-2000:]
    line = error_line(err, message)
    assert err.strip().splitlines()[-1] == line, err[-2000:]
    return line
