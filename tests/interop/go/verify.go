// Command verify checks coop-ledger's notes, checkpoints and Merkle proofs with
// Go's reference implementation (golang.org/x/mod/sumdb/note and sumdb/tlog),
// so the Python side cannot agree only with itself.
//
// Usage:
//
//	verify <verifier-key-file> <signed-checkpoint-file> <checks-file>
//
// The checks file has one check per line (blank lines and # comments ignored),
// every hash and datum in standard base64:
//
//	inclusion <index> <leaf-hash> [<proof-hash> ...]       against the checkpoint
//	inclusion-data <index> <leaf-data> [<proof-hash> ...]  the same, hashing the leaf here
//	consistency <m> <root-m> <n> <root-n> [<proof-hash> ...]
//	receipt <tlog-proof-file> <leaf-hash>                  a c2sp.org/tlog-proof@v1 file
//	receipt-data <tlog-proof-file> <leaf-data-file>        the same, hashing the file's bytes here
//	consistency-note <old-checkpoint-file> [<proof-hash> ...]
//	                                                       another signed checkpoint of the log,
//	                                                       which the checkpoint must extend
//
// It prints one OK line per check and exits 1 at the first failure.
package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL "+format+"\n", args...)
	os.Exit(1)
}

func readFile(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("read %s: %v", path, err)
	}
	return data
}

func parseSize(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("malformed size %q", s)
	}
	return n, nil
}

func parseHashes(fields []string) ([]tlog.Hash, error) {
	hashes := make([]tlog.Hash, 0, len(fields))
	for _, f := range fields {
		h, err := tlog.ParseHash(f)
		if err != nil {
			return nil, fmt.Errorf("hash %q: %v", f, err)
		}
		hashes = append(hashes, h)
	}
	return hashes, nil
}

// openCheckpoint verifies the note with note.Open and parses the checkpoint
// body by the C2SP tlog-checkpoint rules (tlog.ParseTree wants the go.sum
// origin, so the three lines are read here).
func openCheckpoint(msg []byte, verifier note.Verifier) (checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("note.Open: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("checkpoint has fewer than 3 lines")
	}
	if lines[0] != verifier.Name() {
		return checkpoint{}, fmt.Errorf("origin %q is not the key name %q", lines[0], verifier.Name())
	}
	size, err := parseSize(lines[1])
	if err != nil {
		return checkpoint{}, err
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("root: %v", err)
	}
	return checkpoint{lines[0], size, root}, nil
}

// checkReceipt parses a tlog-proof@v1 file by its spec, independently of the
// Python parser, and checks it with note.Open and tlog.CheckRecord.
func checkReceipt(text []byte, leaf tlog.Hash, verifier note.Verifier) (int64, error) {
	split := bytes.Index(text, []byte("\n\n"))
	if split < 0 {
		return 0, errors.New("receipt has no blank line")
	}
	head := strings.Split(string(text[:split]), "\n")
	if head[0] != "c2sp.org/tlog-proof@v1" {
		return 0, fmt.Errorf("bad header %q", head[0])
	}
	i := 1
	if i < len(head) && strings.HasPrefix(head[i], "extra ") {
		if _, err := base64.StdEncoding.DecodeString(head[i][len("extra "):]); err != nil {
			return 0, fmt.Errorf("extra: %v", err)
		}
		i++
	}
	if i >= len(head) || !strings.HasPrefix(head[i], "index ") {
		return 0, errors.New("no index line")
	}
	index, err := parseSize(head[i][len("index "):])
	if err != nil {
		return 0, err
	}
	proof, err := parseHashes(head[i+1:])
	if err != nil {
		return 0, err
	}
	cp, err := openCheckpoint(text[split+2:], verifier)
	if err != nil {
		return 0, err
	}
	if err := tlog.CheckRecord(tlog.RecordProof(proof), cp.size, cp.root, index, leaf); err != nil {
		return 0, fmt.Errorf("tlog.CheckRecord(index %d, size %d): %v", index, cp.size, err)
	}
	return index, nil
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: verify <verifier-key-file> <signed-checkpoint-file> <checks-file>")
		os.Exit(2)
	}
	vkey := strings.TrimSpace(string(readFile(os.Args[1])))
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	cp, err := openCheckpoint(readFile(os.Args[2]), verifier)
	if err != nil {
		fail("checkpoint: %v", err)
	}
	fmt.Printf("OK note %s %d\n", cp.origin, cp.size)

	for lineNo, line := range strings.Split(string(readFile(os.Args[3])), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		where := fmt.Sprintf("line %d (%s)", lineNo+1, fields[0])
		switch fields[0] {
		case "inclusion", "inclusion-data":
			if len(fields) < 3 {
				fail("%s: too few fields", where)
			}
			index, err := parseSize(fields[1])
			if err != nil {
				fail("%s: %v", where, err)
			}
			var leaf tlog.Hash
			if fields[0] == "inclusion" {
				leaf, err = tlog.ParseHash(fields[2])
			} else {
				var data []byte
				data, err = base64.StdEncoding.DecodeString(fields[2])
				leaf = tlog.RecordHash(data)
			}
			if err != nil {
				fail("%s: leaf: %v", where, err)
			}
			proof, err := parseHashes(fields[3:])
			if err != nil {
				fail("%s: %v", where, err)
			}
			if err := tlog.CheckRecord(tlog.RecordProof(proof), cp.size, cp.root, index, leaf); err != nil {
				fail("%s: tlog.CheckRecord(index %d, size %d): %v", where, index, cp.size, err)
			}
			fmt.Printf("OK inclusion %d %d\n", index, cp.size)
		case "consistency":
			if len(fields) < 5 {
				fail("%s: too few fields", where)
			}
			m, err1 := parseSize(fields[1])
			n, err2 := parseSize(fields[3])
			if err1 != nil || err2 != nil {
				fail("%s: bad sizes", where)
			}
			roots, err := parseHashes([]string{fields[2], fields[4]})
			if err != nil {
				fail("%s: %v", where, err)
			}
			// A proof ending at the signed size must end at the signed root.
			if n == cp.size && roots[1] != cp.root {
				fail("%s: root for size %d is not the checkpoint's root", where, n)
			}
			proof, err := parseHashes(fields[5:])
			if err != nil {
				fail("%s: %v", where, err)
			}
			if err := tlog.CheckTree(tlog.TreeProof(proof), n, roots[1], m, roots[0]); err != nil {
				fail("%s: tlog.CheckTree(%d -> %d): %v", where, m, n, err)
			}
			fmt.Printf("OK consistency %d %d\n", m, n)
		case "receipt", "receipt-data":
			if len(fields) != 3 {
				fail("%s: want a file and a leaf hash (or leaf data file)", where)
			}
			var leaf tlog.Hash
			var err error
			if fields[0] == "receipt" {
				leaf, err = tlog.ParseHash(fields[2])
			} else {
				leaf = tlog.RecordHash(readFile(fields[2]))
			}
			if err != nil {
				fail("%s: leaf: %v", where, err)
			}
			index, err := checkReceipt(readFile(fields[1]), leaf, verifier)
			if err != nil {
				fail("%s: %v", where, err)
			}
			fmt.Printf("OK receipt %d\n", index)
		case "consistency-note":
			if len(fields) < 2 {
				fail("%s: want an old checkpoint file", where)
			}
			old, err := openCheckpoint(readFile(fields[1]), verifier)
			if err != nil {
				fail("%s: old checkpoint: %v", where, err)
			}
			proof, err := parseHashes(fields[2:])
			if err != nil {
				fail("%s: %v", where, err)
			}
			if err := tlog.CheckTree(tlog.TreeProof(proof), cp.size, cp.root, old.size, old.root); err != nil {
				fail("%s: tlog.CheckTree(%d -> %d): %v", where, old.size, cp.size, err)
			}
			fmt.Printf("OK consistency-note %d %d\n", old.size, cp.size)
		default:
			fail("%s: unknown check", where)
		}
	}
}
