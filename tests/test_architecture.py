import os
import pkgutil
import subprocess
import sys

import medgov.analytics


def _analytics_modules() -> list[str]:
    prefix = medgov.analytics.__name__ + "."
    return [medgov.analytics.__name__] + [
        info.name for info in pkgutil.walk_packages(medgov.analytics.__path__, prefix)
    ]


def test_every_analytics_module_imports_without_django_settings():
    modules = _analytics_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(leaked))\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
