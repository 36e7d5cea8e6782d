// kstatus prints the verdict of kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status,
// the library Flux and other GitOps tools use to judge readiness) for each object it
// reads, so tests/gitops_health.rs can check the operator's conditions against the
// real library rather than a copy of its rules.
//
// Input on stdin: a stream of objects, YAML documents separated by `---` or JSON
// objects one after another. Output on stdout: one JSON line per object, in input
// order: {"kind", "name", "status", "message"}, where status is kstatus's Status
// (Current, InProgress, Failed, Terminating, NotFound or Unknown).
//
// Built and cached by scripts/kstatus.sh from the version pinned in go.mod.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	dec := yaml.NewYAMLOrJSONDecoder(bufio.NewReader(in), 4096)
	w := bufio.NewWriter(out)
	defer w.Flush()
	enc := json.NewEncoder(w)
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("object %d: %w", n, err)
		}
		// Whole numbers as int64, as the API server hands them to clients and as
		// kstatus reads metadata.generation and status.observedGeneration.
		var obj map[string]interface{}
		if err := utiljson.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("object %d: %w", n, err)
		}
		if obj == nil {
			continue // an empty YAML document
		}
		u := &unstructured.Unstructured{Object: obj}
		res, err := status.Compute(u)
		if err != nil {
			return fmt.Errorf("object %d (%s %s): %w", n, u.GetKind(), u.GetName(), err)
		}
		if err := enc.Encode(verdict{
			Kind:    u.GetKind(),
			Name:    u.GetName(),
			Status:  res.Status.String(),
			Message: res.Message,
		}); err != nil {
			return err
		}
	}
}
