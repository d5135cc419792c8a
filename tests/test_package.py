import subprocess
import sys

import openimagen


def test_version_is_exposed_by_package_and_cli():
    out = subprocess.run([sys.executable, "-c", "from openimagen.cli import main; main()", "--version"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert openimagen.__version__ in out.stdout


def test_the_cascade_does_not_import_the_trainer():
    """Layering: openimagen.train builds on openimagen.cascade, never the reverse (shared config helpers live in
    openimagen.config)."""
    import subprocess
    import sys

    code = ("import sys, openimagen.cascade, openimagen.cascade.config; "
            "loaded = sorted(m for m in sys.modules if m.startswith('openimagen.train')); "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)
