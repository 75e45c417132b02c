"""The support check of the summary rewrite (no model needed): a sentence with a name the log
does not show, or with none of its names, never replaces the extractive summary."""

from autoops.responder.llm import Generation
from autoops.responder.rewrite import clean, rewrite_summary, supported

EVIDENCE = [{"line": 12, "text": "npm ERR! Found: react@18.2.0"},
            {"line": 14, "text": 'npm ERR! peer react@"^16.8 || ^17" from react-beautiful-dnd@13.1.1'}]
CAUSE = "A plugin's peer range does not include the framework version the project uses."


def test_a_sentence_with_the_logs_names_is_accepted():
    assert supported("react-beautiful-dnd@13.1.1 wants react ^16.8 || ^17 but react@18.2.0 is installed.", EVIDENCE, CAUSE) is None


def test_an_invented_version_or_package_is_rejected():
    assert "react@19.0.1" in supported("react-beautiful-dnd@13.1.1 wants react ^16.8 but react@19.0.1 is installed.", EVIDENCE, CAUSE)
    assert "left-pad@1.3.0" in supported("left-pad@1.3.0 conflicts with react@18.2.0 in this project.", EVIDENCE, CAUSE)


def test_a_sentence_without_names_or_off_the_evidence_is_rejected():
    assert supported("The build failed because of a dependency problem in the project.", EVIDENCE, CAUSE) == "names nothing from the log"
    assert supported("react@18.2.0 was resolved by changing the port number and the gateway.", EVIDENCE, CAUSE) == "words not in the evidence"


def test_length_and_one_sentence():
    assert supported("react@18.2.0 is installed. " * 8, EVIDENCE, CAUSE).startswith("over")
    assert supported("react@18.2.0 is installed. It is too new for react-beautiful-dnd@13.1.1.", EVIDENCE, CAUSE) == "more than one sentence"


def test_rewrite_keeps_the_first_sentence_and_falls_back_on_none():
    class FakeLM:
        def __init__(self, text):
            self.text = text

        def generate(self, system, user, max_new_tokens=40, timeout_s=None):
            assert "react-beautiful-dnd@13.1.1" in user and CAUSE in user
            return Generation(self.text, 20, 0.5)

    good = FakeLM("react-beautiful-dnd@13.1.1 needs react ^16.8 || ^17 but react@18.2.0 is installed. Then more.")
    out = rewrite_summary(good, EVIDENCE, CAUSE, "extractive")
    assert out.accepted == "react-beautiful-dnd@13.1.1 needs react ^16.8 || ^17 but react@18.2.0 is installed." and out.reason is None
    bad = rewrite_summary(FakeLM("Run pip install reactfix==2.0 to repair it."), EVIDENCE, CAUSE, "extractive")
    assert bad.accepted is None and "reactfix==2.0" in bad.reason
    assert clean("Summary: \"foo@1.2 broke.\"\nnext line") == "foo@1.2 broke."


def test_a_chunked_gguf_is_joined_once_and_checked_against_its_sha256(tmp_path, monkeypatch):
    import hashlib

    import pytest

    from autoops.responder.llm import ModelUnavailable, chunked_gguf

    parts = [b"GGUF" + bytes(range(200)), bytes(100)]
    (tmp_path / "fakemodel" / "data").mkdir(parents=True)
    (tmp_path / "fakemodel" / "__init__.py").write_text("raise ImportError('the package is found, never imported')\n")
    (tmp_path / "fakemodel" / "data" / "SHA256SUMS").write_text(f"{hashlib.sha256(b''.join(parts)).hexdigest()}  m.gguf\n")
    for i, data in enumerate(parts):
        folder = tmp_path / f"fakemodel_part{i + 1}" / "data"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
        (folder / f"m.gguf.part{i:02d}").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path))
    joined = chunked_gguf("fakemodel", cache_root=tmp_path / "cache")
    assert joined.read_bytes() == b"".join(parts) and joined.parent == tmp_path / "cache"

    (tmp_path / "fakemodel_part2" / "data" / "m.gguf.part01").write_bytes(b"corrupt")
    with pytest.raises(ModelUnavailable, match="does not match"):
        chunked_gguf("fakemodel", cache_root=tmp_path / "other")
    assert not list((tmp_path / "other").iterdir())  # no half-checked file left behind
