"""``errkit new-plugin``: the skeleton plugin distribution, written, installed and discovered."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
import textwrap
import zipfile

import pytest

from errkit.cli.new_plugin import main, render_skeleton, skeleton_names
from errkit.version import PLUGIN_API_VERSION
from tests.helpers import PUBLIC_MODULES, pip_install_target, run_python

NAME = "errkit-texture-residual"


def test_names_are_derived_from_the_distribution_name():
    n = skeleton_names("Errkit_Texture.Residual")
    assert (n.dist, n.module, n.entry_point) == (NAME, "errkit_texture_residual",
                                                 "texture_residual")
    assert (n.class_name, n.residual_module, n.config_name) == (
        "TextureResidual", "texture_residual", "errnet_texture_synthetic.py")
    major = int(PLUGIN_API_VERSION.split(".")[0])
    assert n.plugin_api == f">={major},<{major + 1}"
    other = skeleton_names("my-flow", class_name="OpticalFlowResidual")
    assert (other.module, other.entry_point, other.residual_module) == (
        "my_flow", "my_flow", "optical_flow_residual")


@pytest.mark.parametrize("name,message", [("bad name", "invalid plugin name"),
                                          ("-flow", "invalid plugin name"),
                                          ("errkit", "cannot be 'errkit'"),
                                          ("errkit-residual", "--class-name")])
def test_bad_names_are_refused(name, message):
    with pytest.raises(ValueError, match=message):
        skeleton_names(name)


@pytest.mark.parametrize("name,message", [
    ("flow\n", "invalid plugin name 'flow\\n'"),
    ("texture.residual\n", "invalid plugin name"),
    ("os", "would shadow the standard-library module 'os'"),
    ("JSON", "would shadow the standard-library module 'json'"),
    ("numpy", "already comes from the installed distribution numpy"),
    ("pluggy", "already comes from the installed distribution pluggy")])
def test_names_ending_in_newline_or_shadowing_modules_are_refused(name, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        skeleton_names(name)


@pytest.mark.parametrize("argv,message", [
    (["errkit-pixel-residual"], "the class name PixelResidual is already registered in "
                                "errkit's residuals registry"),
    (["my-flow", "--class-name", "LandmarkResidual"], "LandmarkResidual is already "
                                                       "registered"),
    (["my-flow", "--class-name", "ERRNet"], "ERRNet is already registered in errkit's models")])
def test_names_clashing_with_registered_components_are_refused(tmp_path, capsys, argv,
                                                                message):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--dir", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.slow
def test_names_clashing_with_an_installed_plugin_are_refused(tmp_path):
    assert importlib.util.find_spec("errkit_lbp_residual") is not None, \
        "the errkit-lbp-residual plugin is not installed (make test installs plugins/*)"
    result = run_python(f"""
        import contextlib, io, json
        from errkit.cli.new_plugin import main
        errors = []
        for argv in (['my-texture', '--class-name', 'LBPResidual'], ['errkit-lbp'],
                     ['lbp-residual']):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                try:
                    main([*argv, '--dir', {str(tmp_path)!r}])
                except SystemExit as exc:
                    errors.append([exc.code, err.getvalue().strip()])
        print(json.dumps(errors))
        """)
    assert result.returncode == 0, result.stderr
    (class_code, class_err), (config_code, config_err), (entry_code, entry_err) = json.loads(
        result.stdout.strip().splitlines()[-1])
    assert class_code == config_code == entry_code == 2
    assert "LBPResidual is already registered in errkit's residuals registry" in class_err
    assert "errnet_lbp_synthetic.py would shadow" in config_err
    assert "entry point name 'lbp_residual' is already used" in entry_err
    assert list(tmp_path.iterdir()) == []


def test_bad_class_name_is_refused():
    with pytest.raises(ValueError, match="CamelCase"):
        skeleton_names("flow", class_name="flow_residual")


def test_rendered_files_are_valid_and_complete():
    files = render_skeleton(skeleton_names(NAME))
    assert sorted(files) == sorted([
        "pyproject.toml", "README.md", "errkit_texture_residual/__init__.py",
        "errkit_texture_residual/plugin.py", "errkit_texture_residual/texture_residual.py",
        "errkit_texture_residual/configs/errnet_texture_synthetic.py",
        "tests/test_texture_residual.py"])
    for path, text in files.items():
        assert "$" not in text, f"unfilled placeholder in {path}"
        if path.endswith(".py"):
            ast.parse(text, filename=path)
    assert '[project.entry-points.errkit]\ntexture_residual = "errkit_texture_residual.plugin"' \
        in files["pyproject.toml"]
    plugin = files["errkit_texture_residual/plugin.py"]
    assert "@errkit.hookimpl\ndef errkit_register_components(registries)" in plugin
    assert "registries.residuals.register_module(module=TextureResidual)" in plugin
    assert "class TextureResidual(BaseResidual):" in files[
        "errkit_texture_residual/texture_residual.py"]


def test_writes_skeleton_and_refuses_to_overwrite(tmp_path, capsys):
    assert main([NAME, "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / NAME
    assert f"pip install -e {folder}" in out
    residual = folder / "errkit_texture_residual" / "texture_residual.py"
    residual.write_text(residual.read_text() + "# edited by the author\n")
    with pytest.raises(SystemExit) as exc:
        main([NAME, "--dir", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"{folder} already exists" in err and "never overwrites" in err
    assert residual.read_text().endswith("# edited by the author\n")  # untouched


@pytest.fixture(scope="module")
def installed_skeleton(tmp_path_factory):
    """``(source, install target)`` of a generated and pip-installed skeleton."""
    root = tmp_path_factory.mktemp("new_plugin")
    assert main([NAME, "--dir", str(root / "src")]) == 0
    src = root / "src" / NAME
    target = root / "site"
    pip_install_target(src, target)
    return src, target


@pytest.mark.slow
def test_installed_skeleton_is_discovered_and_its_residual_runs(installed_skeleton):
    _, target = installed_skeleton
    result = run_python("""
        import contextlib, io, json
        import torch
        from errkit.cli import main
        from errkit.models.residuals import ResidualContext
        from errkit.registry import RESIDUALS

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            main(['plugins', '--json'])
        ours = {p['distribution']: p for p in json.loads(buf.getvalue())}['errkit-texture-residual']
        branch = RESIDUALS.build(dict(type='TextureResidual', in_channels=1)).eval()
        x = torch.rand(2, 1, 32, 32) * 2 - 1
        r = torch.randn(2, 1, 32, 32) * 0.1
        feats = branch(ResidualContext(x=x, neutral_hat=x - r, residual_hat=r))
        print(json.dumps([ours['name'], ours['status'], ours['components'],
                          list(feats.shape), branch.out_channels]))
        """, pythonpath=[target])
    assert result.returncode == 0, result.stderr
    name, status, components, shape, out_channels = json.loads(
        result.stdout.strip().splitlines()[-1])
    assert (name, status) == ("texture_residual", "loaded")
    assert components == {"residuals": ["TextureResidual"]}
    assert shape == [2, out_channels]


@pytest.mark.slow
def test_skeleton_text_listing_and_own_tests_pass(installed_skeleton):
    src, target = installed_skeleton
    listing = run_python("from errkit.cli import main; main(['plugins'])", pythonpath=[target])
    assert listing.returncode == 0, listing.stderr
    assert "errkit-texture-residual 0.1.0  [texture_residual = errkit_texture_residual.plugin]" \
        in listing.stdout
    assert "  residuals (1): TextureResidual" in listing.stdout
    result = run_python(f"""
        import sys
        import pytest
        sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', {str(src / 'tests')!r}]))
        """, pythonpath=[target])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout


@pytest.mark.slow
def test_skeleton_builds_without_warnings_from_its_metadata(tmp_path):
    assert main([NAME, "--dir", str(tmp_path / "src")]) == 0
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(tmp_path / "dist"), str(tmp_path / "src" / NAME)],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    # pip's own notes on the machine's pip configuration are not the skeleton's.
    warnings = [ln for ln in lines if re.search(r"warn|deprecat", ln, re.I)
                and "is ignored" not in ln]
    assert warnings == []
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert "errkit_texture_residual/configs/errnet_texture_synthetic.py" in \
        zipfile.ZipFile(wheel).namelist()


def test_skeleton_imports_only_errkits_public_api():
    """A plugin built from the skeleton must not depend on errkit's private modules."""
    allowed = set(PUBLIC_MODULES) | {"errkit.cli"}  # errkit.cli.main: the errkit command
    names = skeleton_names("errkit-flow-residual")
    used = set()

    def collect(tree):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                used.add(node.module)
            elif isinstance(node, ast.Import):
                used.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                try:  # code run in a fresh interpreter, given as a string
                    collect(ast.parse(textwrap.dedent(node.value)))
                except SyntaxError:
                    pass

    for rel, text in render_skeleton(names).items():
        if rel.endswith(".py"):
            collect(ast.parse(text))
    errkit_modules = {m for m in used if m == "errkit" or m.startswith("errkit.")}
    assert errkit_modules and errkit_modules <= allowed, sorted(errkit_modules - allowed)
    assert "errkit.config" in errkit_modules  # load_config, from its public home


def test_next_steps_start_with_a_smoke_run(tmp_path, capsys):
    assert main(["errkit-flow-residual", "--dir", str(tmp_path)]) == 0
    steps = capsys.readouterr().out.split("Next:", 1)[1].splitlines()
    commands = [ln.split("#")[0].strip() for ln in steps if ln.strip()]
    assert commands.index("errkit train errnet_flow_synthetic.py --smoke") < commands.index(
        "errkit train errnet_flow_synthetic.py")
