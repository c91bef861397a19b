"""docs/FORMAT.md and the code agree: the generated sections, the constants, and a worked
example re-checked here with nothing but hashlib, cryptography and the rfc8785 package."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger import merkle, model, note
from ledger.verify import bundle

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "FORMAT.md"

# RFC 8032 §7.1: the public keys of TEST 1 and TEST 2, as printed in the RFC.
RFC8032_TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
RFC8032_TEST2_PUBLIC = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text("utf-8")


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "format_example", ROOT / "scripts" / "format_example.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def value(doc: str, name: str) -> str:
    """A value the document marks with <!-- value:NAME -->: inline code or a fenced block."""
    inline = re.search(rf"<!-- value:{re.escape(name)} -->`([^`]*)`", doc)
    if inline:
        return inline.group(1)
    block = re.search(rf"<!-- value:{re.escape(name)} -->\n```[a-z]*\n(.*?)\n```\n", doc, re.S)
    assert block, f"FORMAT.md has no value {name!r}"
    return block.group(1)


def section(doc: str, number: int) -> str:
    start = doc.index(f"\n## {number}. ")
    end = doc.find("\n## ", start + 1)
    return doc[start : end if end >= 0 else len(doc)]


# -- generated sections --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["example", "kinds"])
def test_generated_sections_match_the_code(doc: str, script: ModuleType, name: str) -> None:
    assert script.generated_section(doc, name).strip() == script.render(name).strip(), (
        f"docs/FORMAT.md section {name!r} drifted: run python scripts/format_example.py --write"
    )


# -- constants -----------------------------------------------------------------------------------


def test_context_string_is_the_models(doc: str) -> None:
    assert bytes.fromhex(value(doc, "context-hex")) == model.ENTRY_CONTEXT
    assert model.ENTRY_CONTEXT == b"coop-ledger/entry/v1\n"
    assert "`coop-ledger/entry/v1` followed by one newline" in doc
    assert f"the {len(model.ENTRY_CONTEXT)} bytes" in doc


def test_entry_members_and_types_are_the_models(doc: str) -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+?) \| .+ \|$", section(doc, 3), re.M)
    assert [name for name, _ in rows] == list(model.Entry.model_fields)
    types = dict(rows)
    schema = model.Entry.model_json_schema()["properties"]
    assert f"`{schema['kind']['pattern']}`" in types["kind"]
    assert schema["seq"]["maximum"] == 2**53 - 1 and "2^53 − 1" in types["seq"]
    assert "128" in types["request_id"] and "`null`" in types["request_id"]
    assert model.FORMAT_VERSION == 1 and "`1`" in types["v"]
    assert model.GENESIS_PREV == "0" * 64 and "64 zeros" in section(doc, 3)


def test_bundle_layout_is_the_exporters(doc: str) -> None:
    text = section(doc, 10)
    files = re.findall(r"^\| `([a-z.]+)` \|", text, re.M)
    assert files == [bundle.ENTRIES, bundle.CHECKPOINTS, bundle.LATEST, bundle.MANIFEST]
    assert f'"format": "{bundle.BUNDLE_FORMAT}"' in text
    assert note.TLOG_PROOF_HEADER in section(doc, 8)


def test_openssl_command_is_the_one_the_interop_test_runs(doc: str) -> None:
    command = "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin"
    assert command in doc
    interop = (ROOT / "tests" / "interop" / "test_openssl.py").read_text("utf-8")
    for word in command.split()[1:]:
        assert f'"{word}"' in interop


# -- the worked example, re-derived from first principles ----------------------------------------


def _public(seed_hex: str) -> bytes:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_example_keys(doc: str) -> None:
    author = _public(value(doc, "author-seed"))
    log = _public(value(doc, "log-seed"))
    assert author.hex() == value(doc, "author-public-key") == RFC8032_TEST1_PUBLIC
    assert log.hex() == value(doc, "log-public-key") == RFC8032_TEST2_PUBLIC
    assert hashlib.sha256(author).hexdigest() == value(doc, "author-key-id")
    origin = "example.org/coop"
    kid = hashlib.sha256(origin.encode() + b"\n\x01" + log).digest()[:4]
    data = base64.b64encode(b"\x01" + log).decode()
    vkey = f"{origin}+{kid.hex()}+{data}"
    assert value(doc, "log-vkey") == vkey
    assert note.parse_verifier_key(vkey).public_key == log


def test_example_entry_signature_and_leaf(doc: str) -> None:
    entry_bytes = value(doc, "entry-bytes").encode("ascii")
    entry = json.loads(entry_bytes)
    # Canonical by the reference implementation, and by ours.
    assert bytes(rfc8785.dumps(entry)) == entry_bytes
    parsed = model.Entry.model_validate(entry)
    assert parsed.canonical_bytes() == entry_bytes
    assert list(entry) == sorted(model.Entry.model_fields)
    assert entry["seq"] == 1 and entry["v"] == 1
    assert entry["prev"] == value(doc, "entry0-leaf-hash")
    assert entry["key_id"] == value(doc, "author-key-id")
    assert entry["body"]["key"]["public_key"] == value(doc, "granted-public-key-b64")

    message = bytes.fromhex(value(doc, "context-hex")) + entry_bytes
    assert message == model.signing_message(entry_bytes)
    assert hashlib.sha256(message).hexdigest() == value(doc, "message-sha256")
    signature = base64.b64decode(value(doc, "signature-b64"))
    author = bytes.fromhex(value(doc, "author-public-key"))
    Ed25519PublicKey.from_public_bytes(author).verify(signature, message)
    # Ed25519 is deterministic: the seed signs the same message to the same bytes.
    seed = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(value(doc, "author-seed")))
    assert seed.sign(message) == signature

    leaf = value(doc, "leaf-bytes").encode("ascii")
    sigs = [{"key_id": entry["key_id"], "sig": value(doc, "signature-b64")}]
    assert leaf == b'{"entry":' + entry_bytes + b',"signatures":' + rfc8785.dumps(sigs) + b"}"
    assert bytes(rfc8785.dumps(json.loads(leaf))) == leaf
    signed = model.decode_leaf(leaf)
    assert model.leaf_bytes(signed) == leaf
    assert model.assemble_leaf(entry_bytes, list(signed.signatures)) == leaf
    assert hashlib.sha256(b"\x00" + leaf).hexdigest() == value(doc, "leaf-hash")
    assert merkle.leaf_hash(leaf).hex() == value(doc, "leaf-hash")
    assert b"\n" not in leaf  # one leaf, one line of entries.jsonl


def test_example_checkpoint_and_receipt(doc: str) -> None:
    origin = "example.org/coop"
    leaf0 = bytes.fromhex(value(doc, "entry0-leaf-hash"))
    leaf1 = bytes.fromhex(value(doc, "leaf-hash"))
    root = hashlib.sha256(b"\x01" + leaf0 + leaf1).digest()
    assert root.hex() == value(doc, "root-hash")
    assert merkle.MemoryTree([leaf0, leaf1]).root() == root

    checkpoint = value(doc, "checkpoint") + "\n"
    text, _, signatures = checkpoint.rpartition("\n\n")
    text += "\n"
    assert text == f"{origin}\n2\n{base64.b64encode(root).decode()}\n"
    [line] = signatures.rstrip("\n").split("\n")
    prefix = f"\u2014 {origin} "
    assert line.startswith(prefix)
    raw = base64.b64decode(line[len(prefix) :])
    log = bytes.fromhex(value(doc, "log-public-key"))
    assert raw[:4] == hashlib.sha256(origin.encode() + b"\n\x01" + log).digest()[:4]
    Ed25519PublicKey.from_public_bytes(log).verify(raw[4:], text.encode())
    verifier = note.parse_verifier_key(value(doc, "log-vkey"))
    assert note.open_checkpoint(checkpoint, verifier) == note.Checkpoint(origin, 2, root)

    receipt = value(doc, "receipt") + "\n"
    assert receipt == (
        f"c2sp.org/tlog-proof@v1\nindex 1\n{base64.b64encode(leaf0).decode()}\n\n{checkpoint}"
    )
    leaf = value(doc, "leaf-bytes").encode("ascii")
    assert note.verify_tlog_proof(receipt, merkle.leaf_hash(leaf), verifier, expected_index=1)


# -- §14: the edge cases, where a statement can be checked against the code ------------------------


def test_edge_cases_name_the_codes_constants(doc: str) -> None:
    from ledger.encoding import canonical
    from ledger.export import gem

    text = section(doc, 14)
    assert gem.MANIFEST_CONTEXT == b"coop-ledger/gem-manifest/v1\n"
    assert "`coop-ledger/gem-manifest/v1` (without the newline)" in text
    assert note.MAX_TREE_SIZE == 2**63 - 1 and "2^63 − 1" in text
    assert bundle.BUNDLE_FORMAT in text
    # The \u00xx case: lowercase hex, short forms for the five named controls.
    assert canonical("\x1f\b\t\n\f\r") == b'"\\u001f\\b\\t\\n\\f\\r"'
    assert "`\\u001f`" in text


def test_request_id_statement_is_the_writers_rule(doc: str) -> None:
    from ledger.errors import UsageError

    assert model.check_request_id("!" * 128) == "!" * 128
    for bad in ("", "x" * 129, "a b", "é"):
        with pytest.raises(UsageError):
            model.check_request_id(bad)
    assert "1–128 visible ASCII characters" in " ".join(section(doc, 14).split())


def test_exception_role_rule_names_the_charters_choices(doc: str) -> None:
    from typing import get_args

    from ledger.charter import LeaseTerms

    roles = get_args(LeaseTerms.model_fields["exception_role"].annotation)
    assert set(roles) == {"governor", "werk-admin"}
    kinds = section(doc, 9)
    assert "`governor` → `lease.exception-granted`, `werk-admin` → `lease.granted`" in kinds


def test_values_outside_the_signed_domain_are_refused() -> None:
    from ledger.encoding import canonical
    from ledger.errors import InputError

    for value in ({"a": 1.5}, {"a": 2**53}, {"é": 1}):
        with pytest.raises(InputError):
            canonical(value)
