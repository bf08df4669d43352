"""Plugin discovery through real, pip-installed distributions of the ``errkit`` group.

Each scenario runs in a fresh interpreter because plugins load once per process.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import pip_install_target, run_python, write_plugin_distribution

pytestmark = pytest.mark.slow

HEAD_PLUGIN = """
@errkit.hookimpl
def errkit_register_components(registries):
    import torch.nn as nn

    class TinyHead(nn.Module):
        def __init__(self, in_channels, num_classes):
            super().__init__()
            self.fc = nn.Linear(in_channels, num_classes)

        def forward(self, x, labels=None):
            return self.fc(x)

    registries.heads.register_module(name='TinyHead', module=TinyHead)


@errkit.hookimpl
def errkit_config_paths():
    import os
    return [os.path.join(os.path.dirname(__file__), 'configs')]
"""

CLASH_PLUGIN = """
@errkit.hookimpl
def errkit_register_components(registries):
    import torch.nn as nn

    class OtherTinyHead(nn.Module):
        pass

    registries.heads.register_module(name='TinyHead', module=OtherTinyHead, force={force})
"""

BROKEN_IMPORT = """
import this_module_does_not_exist  # noqa
"""

RAISING_HOOK = """
@errkit.hookimpl
def errkit_register_components(registries):
    import torch.nn as nn

    class HalfRegistered(nn.Module):
        pass

    registries.heads.register_module(module=HalfRegistered)
    raise RuntimeError('cannot register the second half')
"""

EXITS_AT_IMPORT = """
import sys
sys.exit(3)
"""

RAISING_CONFIG_PATHS = """
@errkit.hookimpl
def errkit_config_paths():
    import os
    return os.listdir('/no/such/folder/of/configs')
"""

OVERRIDES_BUILTIN = """
@errkit.hookimpl
def errkit_register_components(registries):
    from errkit.models import ERRNet

    class PatchedERRNet(ERRNet):
        pass

    registries.models.register_module(name='ERRNet', module=PatchedERRNet, force=True)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Builds and pip-installs each plugin distribution into its own folder."""
    root = tmp_path_factory.mktemp("plugins")
    specs = {
        "good": ("errkit-tiny-head", "errkit_tiny_head", HEAD_PLUGIN, ">=1,<2",
                 {"configs/tiny.py": "model = dict(type='TinyHead', in_channels=4, num_classes=2)\n"}),
        "clash": ("errkit-clash", "errkit_clash", CLASH_PLUGIN.format(force=False), ">=1,<2", {}),
        "forced": ("errkit-zforced", "errkit_zforced", CLASH_PLUGIN.format(force=True), ">=1,<2", {}),
        "broken": ("errkit-broken", "errkit_broken", BROKEN_IMPORT, ">=1,<2", {}),
        "raising": ("errkit-raising", "errkit_raising", RAISING_HOOK, ">=1,<2", {}),
        "future": ("errkit-future", "errkit_future", HEAD_PLUGIN.replace("TinyHead", "FutureHead"),
                   ">=2,<3", {}),
        "exits": ("errkit-exits", "errkit_exits", EXITS_AT_IMPORT, ">=1,<2", {}),
        "bad_paths": ("errkit-bad-paths", "errkit_bad_paths", RAISING_CONFIG_PATHS, ">=1,<2", {}),
        "override": ("errkit-override", "errkit_override", OVERRIDES_BUILTIN, ">=1,<2", {}),
    }
    targets = {}
    for key, (dist, module, body, api, files) in specs.items():
        src = write_plugin_distribution(root / "src", dist, module, body, api=api,
                                        extra_files=files)
        target = root / "site" / key
        pip_install_target(src, target)
        targets[key] = target
    return targets


LIST = """
import json
from errkit.plugin_manager import load_plugins
from errkit.registry import ALL_REGISTRIES
print(json.dumps([dict(name=p.name, dist=p.distribution, version=p.version, status=p.status,
                       reason=p.reason, components=p.components)
                  for p in load_plugins(ALL_REGISTRIES)]))
"""


def _plugins(result):
    assert result.returncode == 0, result.stderr
    return {p["dist"]: p for p in json.loads(result.stdout.strip().splitlines()[-1])}


def test_builtins_come_from_errkits_own_entry_point():
    plugins = _plugins(run_python(LIST))
    builtin = plugins["errkit"]
    assert builtin["name"] == "builtins"
    assert "TimmClassifier" in builtin["components"]["models"]
    assert list(plugins)[0] == "errkit"  # built-ins load first


def test_installed_plugin_is_discovered_and_builds(installed):
    result = run_python(LIST + """
from errkit.registry import HEADS
head = HEADS.build(dict(type='TinyHead', in_channels=4, num_classes=3))
print(type(head).__name__)
""", pythonpath=[installed["good"]])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    plugins = {p["dist"]: p for p in json.loads(lines[0])}
    assert plugins["errkit-tiny-head"]["version"] == "0.3.1"
    assert plugins["errkit-tiny-head"]["components"] == {"heads": ["TinyHead"]}
    assert lines[1] == "TinyHead"


def test_lookup_loads_plugins_lazily(installed):
    # No explicit load: the first registry lookup discovers the plugin.
    result = run_python("""
from errkit.registry import HEADS
print('TinyHead' in HEADS)
""", pythonpath=[installed["good"]])
    assert result.stdout.strip() == "True", result.stderr


def test_plugin_config_paths_resolve_configs(installed):
    result = run_python("""
from errkit.cli.common import resolve_config
print(resolve_config('tiny.py'))
""", pythonpath=[installed["good"]])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("errkit_tiny_head/configs/tiny.py")


def test_errkit_plugins_command_lists_components(installed):
    result = run_python("from errkit.cli import main; main(['plugins'])",
                        pythonpath=[installed["good"]])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "errkit 0." in out and "[builtins = errkit._builtins]" in out
    assert "errkit-tiny-head 0.3.1  [errkit_tiny_head = errkit_tiny_head]" in out
    assert "  heads (1): TinyHead" in out
    assert "  models (" in out and "TimmClassifier" in out


def test_broken_import_names_distribution_and_entry_point(installed):
    result = run_python(LIST, pythonpath=[installed["broken"]])
    assert result.returncode != 0
    assert "errkit-broken (entry point 'errkit_broken = errkit_broken') failed to import" \
        in result.stderr
    assert "ModuleNotFoundError" in result.stderr
    assert "--disable-plugin errkit_broken" in result.stderr


@pytest.mark.parametrize("how", ["env", "cli"])
def test_disabled_broken_plugin_lets_errkit_run(installed, how):
    if how == "env":
        result = run_python(LIST, pythonpath=[installed["broken"]],
                            env={"ERRKIT_DISABLE_PLUGINS": "errkit-broken"})
        plugins = _plugins(result)
    else:
        result = run_python("from errkit.cli import main; main(['plugins', '--disable-plugin', "
                            "'errkit_broken'])", pythonpath=[installed["broken"]])
        assert result.returncode == 0, result.stderr
        assert "(disabled: named in ERRKIT_DISABLE_PLUGINS)" in result.stdout
        return
    assert plugins["errkit-broken"]["status"] == "disabled"
    assert plugins["errkit"]["status"] == "loaded"


def test_raising_hook_is_rolled_back_and_named(installed):
    result = run_python("""
from errkit.plugin_manager import load_plugins, PluginError
from errkit.registry import ALL_REGISTRIES, HEADS
try:
    load_plugins(ALL_REGISTRIES)
except PluginError as exc:
    print('ERROR', exc.distribution, exc.entry_point)
    print('HalfRegistered' in HEADS._module_dict)
""", pythonpath=[installed["raising"]])
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()[-2:]
    assert first == "ERROR errkit-raising errkit_raising"
    assert second == "False"  # nothing of the failed plugin stays registered


def test_name_clash_names_both_plugins(installed):
    result = run_python(LIST, pythonpath=[installed["good"], installed["clash"]])
    assert result.returncode != 0
    assert "'TinyHead' is registered twice in the errkit 'head' registry" in result.stderr
    assert "errkit-tiny-head" in result.stderr and "errkit-clash" in result.stderr


def test_force_registration_overrides(installed):
    result = run_python(LIST + """
from errkit.registry import HEADS
print(HEADS.get('TinyHead').__name__)
""", pythonpath=[installed["good"], installed["forced"]])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "OtherTinyHead"


def test_incompatible_api_is_refused_and_errkit_goes_on(installed):
    result = run_python(LIST, pythonpath=[installed["future"]])
    plugins = _plugins(result)
    future = plugins["errkit-future"]
    assert future["status"] == "incompatible"
    assert "needs errkit plugin API >=2,<3" in future["reason"]
    assert "plugin API 1.0" in future["reason"]
    assert "is not loaded" in result.stderr  # the warning
    assert "FutureHead" not in json.dumps(plugins)


def test_autoload_switch_keeps_only_builtins(installed):
    result = run_python(LIST, pythonpath=[installed["good"]],
                        env={"ERRKIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    plugins = _plugins(result)
    assert plugins["errkit-tiny-head"]["status"] == "disabled"
    assert plugins["errkit"]["status"] == "loaded"


def test_plugins_receive_the_registries_they_are_handed():
    # The plugin manager imports no registry: discovery works without one, and the
    # components are registered into the registries handed to load_plugins.
    result = run_python("""
import sys
from errkit import plugin_manager
print('errkit.registry' in sys.modules)
plugins = plugin_manager.load_plugins()
print(plugins[0].status, plugins[0].components)
print(plugin_manager.get_config_paths()[0].endswith('configs'))
from errkit.registry import ALL_REGISTRIES
plugins = plugin_manager.load_plugins(ALL_REGISTRIES)
print('TimmClassifier' in plugins[0].components['models'])
try:
    plugin_manager.load_plugins(dict(ALL_REGISTRIES))
except ValueError as exc:
    print('ValueError', 'reset_plugins' in str(exc))
""", env={"ERRKIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [
        "False", "loaded {}", "True", "True", "ValueError True"]


def test_sys_exit_at_import_is_named_not_obeyed(installed):
    result = run_python(LIST, pythonpath=[installed["exits"]])
    assert result.returncode not in (0, 3), result.stderr
    assert ("errkit-exits (entry point 'errkit_exits = errkit_exits') called sys.exit(3) while "
            "being imported") in result.stderr
    assert "--disable-plugin errkit_exits" in result.stderr
    # a command: one line, errkit's exit status (not the plugin's), no traceback
    for argv in (["plugins"], ["train", "configs/errnet_synthetic.py"]):
        result = run_python(f"from errkit.cli import main; main({argv!r})",
                            pythonpath=[installed["exits"]])
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.count("errkit: error: errkit plugin errkit-exits") == 1


def test_raising_config_paths_hook_names_the_plugin(installed):
    result = run_python("from errkit.cli import main; main(['train', 'tiny.py'])",
                        pythonpath=[installed["bad_paths"]])
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("errkit: error:"))
    assert ("errkit plugin errkit-bad-paths (entry point 'errkit_bad_paths = errkit_bad_paths') "
            "failed in errkit_config_paths: FileNotFoundError") in line
    assert "/no/such/folder/of/configs" in line and "--disable-plugin errkit_bad_paths" in line


def test_override_of_a_builtin_is_shown_and_undone_by_reset(installed):
    result = run_python("from errkit.cli import main; main(['plugins'])",
                        pythonpath=[installed["override"]])
    assert result.returncode == 0, result.stderr
    assert "  overrides in models: ERRNet (was errkit's)" in result.stdout
    assert "ERRNet (replaced by errkit-override)" in result.stdout
    result = run_python("from errkit.cli import main; main(['plugins', '--json'])",
                        pythonpath=[installed["override"]])
    plugins = {p["distribution"]: p for p in json.loads(result.stdout)}
    assert plugins["errkit-override"]["overrides"] == {"models": {"ERRNet": "errkit"}}
    assert plugins["errkit"]["overridden"] == {"models": {"ERRNet": "errkit-override"}}
    result = run_python("""
import os
from errkit.plugin_manager import load_plugins, reset_plugins
from errkit.registry import ALL_REGISTRIES, MODELS
load_plugins(ALL_REGISTRIES)
print(MODELS.get('ERRNet').__name__)
reset_plugins()
os.environ['ERRKIT_DISABLE_PLUGINS'] = 'errkit-override'
load_plugins(ALL_REGISTRIES)
print(MODELS.get('ERRNet').__module__)
""", pythonpath=[installed["override"]])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["PatchedERRNet", "errkit.models.errnet"]
