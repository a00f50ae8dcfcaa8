"""Running a command's `main(argv)` in-process as a user would, and checking how it fails."""

import pytest


def fails_with(main, args, capsys, message, status=2):
    """`main(args)` exits with `status`, its last stderr line an `error:` naming `message`, no traceback."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    assert exit_info.value.code == status
    err = capsys.readouterr().err
    assert err.strip(), "nothing printed to stderr"
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, err[-2000:]
    assert "Traceback" not in err
    return last
