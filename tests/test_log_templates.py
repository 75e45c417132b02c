"""The log templates are data (``autoops/envs/logs/*.yaml``): they load, cover every failure the
simulator produces, and a malformed file is reported by file and template or field."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import yaml

import autoops.envs.logs
import autoops.envs.logs.catalog as catalog
from autoops import paths
from autoops.envs.categories import FAILURES, TOOLCHAINS
from autoops.envs.logs import TemplateError, render_log
from autoops.envs.logs.catalog import DATA_DIR, load_catalog, package_catalog
from autoops.envs.logs.values import Ctx


def test_every_template_file_loads_from_the_package():
    assert DATA_DIR == Path(autoops.envs.logs.__file__).parent
    files = sorted(p.stem for p in (DATA_DIR / "templates").glob("*.yaml"))
    assert files == sorted(FAILURES)
    for path in (DATA_DIR / "templates").glob("*.yaml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8")), path
    assert load_catalog(DATA_DIR).logs.keys() == set(FAILURES)


def test_every_failure_of_the_simulator_is_in_the_taxonomy_and_has_templates_for_each_toolchain():
    taxonomy = {c["id"] for c in yaml.safe_load(paths.taxonomy_file().read_text(encoding="utf-8"))["categories"]}
    logs = package_catalog().logs
    for category in FAILURES:
        assert category in taxonomy
        for toolchain in TOOLCHAINS:
            assert logs[category][toolchain], (category, toolchain)


def test_loaded_once_per_process_with_the_c_loader_when_there_is_one():
    assert package_catalog() is package_catalog()
    if yaml.__with_libyaml__:
        assert catalog._Loader is yaml.CSafeLoader


def test_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    expected = render_log("disk_full", "npm", random.Random(5))
    monkeypatch.chdir(tmp_path)
    assert load_catalog(DATA_DIR).logs.keys() == set(FAILURES)
    assert render_log("disk_full", "npm", random.Random(5)) == expected


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of the package's template files, to break."""
    root = tmp_path / "logs"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def second_template(root: Path, change) -> None:
    """Apply ``change`` to the second template of build_oom.yaml."""
    path = root / "templates" / "build_oom.yaml"
    templates = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(templates[1])
    path.write_text(yaml.safe_dump(templates, sort_keys=False, allow_unicode=True), encoding="utf-8")


BROKEN_TEMPLATES = {
    "unknown toolchain": (lambda t: t.update(toolchains=["maven"]), ("field 'toolchains'", "maven")),
    "unknown placeholder": (lambda t: t.update(text=t["text"] + "\n{no_such_value}"), ("field 'text'", "{no_such_value}")),
    "unknown snippet": (lambda t: t.update(cmd="{tc_nope} test"), ("field 'cmd'", "{tc_nope}")),
    "stray brace": (lambda t: t.update(text=t["text"] + "\n}"), ("field 'text'", "brace")),
    "unknown field": (lambda t: t.update(command="make"), ("unknown field command",)),
    "missing text": (lambda t: t.pop("text"), ("field 'text' is missing",)),
    "bad exit code": (lambda t: t.update(code="oops"), ("field 'code'",)),
    "unknown frame": (lambda t: t.update(frames=["gha", "azure"]), ("field 'frames'", "azure")),
}


@pytest.mark.parametrize("case", BROKEN_TEMPLATES)
def test_a_malformed_template_names_file_template_and_field(data, case):
    change, expected = BROKEN_TEMPLATES[case]
    second_template(data, change)
    with pytest.raises(TemplateError) as err:
        load_catalog(data)
    message = str(err.value)
    assert str(data / "templates" / "build_oom.yaml") in message and "template 2" in message, message
    for part in expected:
        assert part in message, message


def test_invalid_yaml_names_the_file(data):
    edit(data / "templates" / "flaky_test.yaml", "- toolchains:", "- toolchains: [gradle\n  oops:")
    with pytest.raises(TemplateError, match=r"flaky_test\.yaml: not valid YAML"):
        load_catalog(data)


def test_a_category_without_templates_is_an_error(data):
    (data / "templates" / "disk_full.yaml").unlink()
    with pytest.raises(TemplateError, match=r"disk_full\.yaml: missing"):
        load_catalog(data)


def test_a_file_for_no_category_is_an_error(data):
    shutil.copy(data / "templates" / "disk_full.yaml", data / "templates" / "disk_ful.yaml")
    with pytest.raises(TemplateError, match=r"disk_ful\.yaml: not a failure category"):
        load_catalog(data)


def test_a_toolchain_without_templates_is_an_error(data):
    path = data / "templates" / "build_oom.yaml"
    templates = [t for t in yaml.safe_load(path.read_text(encoding="utf-8")) if "npm" not in t["toolchains"]]
    path.write_text(yaml.safe_dump(templates, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TemplateError, match=r"build_oom\.yaml: no template for toolchain 'npm'"):
        load_catalog(data)


def test_a_number_in_a_word_list_must_be_quoted(data):
    # YAML reads 8.10 as the number 8.1: a version must be quoted to stay what it says.
    edit(data / "words.yaml", '"8.4", ', "8.10, ")
    with pytest.raises(TemplateError, match=r"words\.yaml, list 'gradle_ver': entry 8\.1 is not text \(quote it"):
        load_catalog(data)


def test_a_word_list_the_code_needs_is_required(data):
    edit(data / "words.yaml", "jtest_suffix:", "jtest_suffixes:")
    with pytest.raises(TemplateError, match=r"words\.yaml: the list 'jtest_suffix' is missing"):
        load_catalog(data)


def test_a_snippet_needs_every_toolchain(data):
    edit(data / "snippets.yaml", "  python: python -m build\n", "")
    with pytest.raises(TemplateError, match=r"snippets\.yaml, snippet 'cmd_build': one text per toolchain"):
        load_catalog(data)


def test_a_frame_names_its_field(data):
    edit(data / "frames.yaml", "    home: /root\n", "", count=1)
    with pytest.raises(TemplateError, match=r"frames\.yaml, frame 'gitlab': field 'home' is missing"):
        load_catalog(data)


def test_the_words_rendered_are_those_of_the_files(data):
    edit(data / "words.yaml", "atlas-platform", "renamed-repo")
    gens = load_catalog(data).gens
    drawn = {gens["repo"](Ctx(random.Random(seed), gens)) for seed in range(200)}
    assert "renamed-repo" in drawn and "atlas-platform" not in drawn
