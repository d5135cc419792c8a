import subprocess
import sys

import openimagen


def test_version_is_exposed_by_package_and_cli():
    out = subprocess.run([sys.executable, "-c", "from openimagen.cli import main; main()", "--version"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert openimagen.__version__ in out.stdout
