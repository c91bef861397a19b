"""Generate the worked example and the kind table of docs/FORMAT.md from the code.

    python scripts/format_example.py            print the generated sections
    python scripts/format_example.py --write    rewrite them in docs/FORMAT.md

tests/unit/test_format_doc.py fails when the document and this output drift apart, and checks
the example's bytes again with nothing but hashlib, cryptography and the rfc8785 package.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORMAT_DOC = ROOT / "docs" / "FORMAT.md"
SECTIONS = ("example", "kinds")

# RFC 8032 §7.1 test keys (32-byte seeds): public test values, never for a real ledger.
AUTHOR_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # TEST 1
LOG_SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"  # TEST 2
GRANTED_SEED = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"  # TEST 3
ORIGIN = "example.org/coop"
# Entry 0 is not reproduced (it holds a whole charter); its leaf hash is taken as given.
ENTRY0_LEAF_HASH = hashlib.sha256(b"\x00stand-in for entry 0 of the example").hexdigest()


def example_values() -> dict[str, str]:
    """Every value the worked example shows, computed by the ledger's own code."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger import merkle, note
    from ledger.keys import Signer, key_id, public_key_b64
    from ledger.model import (
        ENTRY_CONTEXT,
        Entry,
        Signature,
        SignedEntry,
        assemble_leaf,
        leaf_bytes,
        signing_message,
    )
    from ledger.rules.governance import KeyAuthorized, KeyGrant

    def signer(name: str, seed: str) -> Signer:
        return Signer(name, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)))

    author = signer("example-governor", AUTHOR_SEED)
    log = signer(ORIGIN, LOG_SEED)
    granted = signer("example-admin", GRANTED_SEED)
    body = KeyAuthorized(
        key=KeyGrant(
            name=granted.name, public_key=public_key_b64(granted.public_key), roles=("coop-admin",)
        )
    )
    entry = Entry(
        seq=1,
        kind="key.authorized",
        body=body.model_dump(mode="json"),
        prev=ENTRY0_LEAF_HASH,
        recorded_at="2031-05-01T10:00:00.000000Z",
        effective=date(2031, 5, 1),
        key_id=author.key_id,
        request_id="example-1",
    )
    entry_bytes = entry.canonical_bytes()
    message = signing_message(entry_bytes)
    signature = author.sign(message)
    sig = Signature(key_id=author.key_id, sig=base64.b64encode(signature).decode("ascii"))
    leaf = assemble_leaf(entry_bytes, [sig])
    assert leaf == leaf_bytes(SignedEntry(entry=entry, signatures=(sig,)))
    digest = merkle.leaf_hash(leaf)
    tree = merkle.MemoryTree([bytes.fromhex(ENTRY0_LEAF_HASH), digest])
    checkpoint = note.sign_checkpoint(note.Checkpoint(ORIGIN, 2, tree.root()), log.private_key)
    receipt = note.format_tlog_proof(1, tree.inclusion_proof(1), checkpoint)
    return {
        "author-seed": AUTHOR_SEED,
        "author-public-key": author.public_key.hex(),
        "author-public-key-b64": public_key_b64(author.public_key),
        "author-key-id": key_id(author.public_key),
        "log-seed": LOG_SEED,
        "log-public-key": log.public_key.hex(),
        "log-vkey": log.vkey,
        "granted-public-key-b64": public_key_b64(granted.public_key),
        "context-hex": ENTRY_CONTEXT.hex(),
        "entry-bytes": entry_bytes.decode("ascii"),
        "entry-length": str(len(entry_bytes)),
        "message-sha256": hashlib.sha256(message).hexdigest(),
        "signature-b64": sig.sig,
        "leaf-bytes": leaf.decode("ascii"),
        "leaf-hash": digest.hex(),
        "entry0-leaf-hash": ENTRY0_LEAF_HASH,
        "root-hash": tree.root().hex(),
        "checkpoint": checkpoint,
        "receipt": receipt,
    }


def _block(name: str, value: str, lang: str = "text") -> str:
    """A fenced block the doc test can find by name; a trailing newline is not repeated."""
    return f"<!-- value:{name} -->\n```{lang}\n{value.removesuffix(chr(10))}\n```\n"


def _code(name: str, value: str) -> str:
    return f"<!-- value:{name} -->`{value}`"


def render_example() -> str:
    v = example_values()
    return (
        "Keys: the RFC 8032 §7.1 test keys (public, for examples only).\n"
        "\n"
        f"- author (a governor): seed {_code('author-seed', v['author-seed'])},\n"
        f"  public key {_code('author-public-key', v['author-public-key'])}\n"
        f"  (base64 `{v['author-public-key-b64']}`),\n"
        f"  key id {_code('author-key-id', v['author-key-id'])} (SHA-256 of the public key);\n"
        f"- log key `{ORIGIN}`: seed {_code('log-seed', v['log-seed'])},\n"
        f"  public key {_code('log-public-key', v['log-public-key'])},\n"
        f"  verifier key {_code('log-vkey', v['log-vkey'])};\n"
        f"- the key being authorised: public key (base64)\n"
        f"  {_code('granted-public-key-b64', v['granted-public-key-b64'])} (RFC 8032 TEST 3).\n"
        "\n"
        "Entry 1 of the example ledger authorises a `coop-admin` key. Entry 0 is not shown;\n"
        f"its leaf hash is taken as {_code('entry0-leaf-hash', v['entry0-leaf-hash'])}.\n"
        f"The canonical entry bytes ({v['entry-length']} bytes, ASCII, no trailing newline):\n"
        "\n"
        f"{_block('entry-bytes', v['entry-bytes'], 'json')}"
        "\n"
        "The signed message is the context string followed by those bytes; its SHA-256 is\n"
        f"{_code('message-sha256', v['message-sha256'])}. The author's Ed25519 signature "
        "(base64):\n"
        "\n"
        f"{_block('signature-b64', v['signature-b64'])}"
        "\n"
        "The leaf bytes (one line of `entries.jsonl`, without its newline):\n"
        "\n"
        f"{_block('leaf-bytes', v['leaf-bytes'], 'json')}"
        "\n"
        f"Leaf hash: {_code('leaf-hash', v['leaf-hash'])}.\n"
        "\n"
        "The checkpoint of the two-leaf tree (entry 0's leaf hash, then this one), root\n"
        f"{_code('root-hash', v['root-hash'])} = SHA-256(0x01 || leaf hash 0 || leaf hash 1),\n"
        "signed by the log key:\n"
        "\n"
        f"{_block('checkpoint', v['checkpoint'])}"
        "\n"
        "The member's receipt for entry 1 at that checkpoint (its proof is entry 0's leaf hash):\n"
        "\n"
        f"{_block('receipt', v['receipt'])}"
    )


def render_kinds() -> str:
    from ledger.state import load_kinds

    rows = ["| kind | signed by a key holding the role |", "|---|---|"]
    for name, spec in sorted(load_kinds().items()):
        if name == "ledger.founded":
            who = "the founding governor key, then the log key (entry 0 only)"
        elif spec.role is None:
            who = "checked by the kind's own rule (see its module)"
        else:
            who = f"`{spec.role}`"
        rows.append(f"| `{name}` | {who} |")
    return "\n".join(rows) + "\n"


def render(section: str) -> str:
    return {"example": render_example, "kinds": render_kinds}[section]()


def _markers(section: str) -> tuple[str, str]:
    return (
        f"<!-- generated:{section} (scripts/format_example.py) -->\n",
        f"<!-- /generated:{section} -->\n",
    )


def generated_section(text: str, section: str) -> str:
    """The text between a section's markers in the document (ValueError if missing)."""
    begin, end = _markers(section)
    start = text.index(begin) + len(begin)
    return text[start : text.index(end, start)]


def rewrite(text: str) -> str:
    for section in SECTIONS:
        begin, end = _markers(section)
        start = text.index(begin) + len(begin)
        stop = text.index(end, start)
        text = text[:start] + "\n" + render(section) + "\n" + text[stop:]
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite docs/FORMAT.md in place")
    args = parser.parse_args()
    if args.write:
        FORMAT_DOC.write_text(rewrite(FORMAT_DOC.read_text("utf-8")), "utf-8")
        print(f"rewrote the generated sections of {FORMAT_DOC.relative_to(ROOT)}")
    else:
        for section in SECTIONS:
            print(render(section))


if __name__ == "__main__":
    main()
