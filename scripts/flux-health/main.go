// flux-health evaluates Flux healthCheckExprs with kustomize-controller's own evaluator
// (github.com/fluxcd/pkg/runtime/cel). Test tooling for k8ssandra-gitops, never shipped.
//
// stdin: one JSON document {"current": "...", "failed": "...", "inProgress": "...",
// "objects": [ ... ]}; stdout: one kstatus status per object, one per line.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type input struct {
	Current    string                   `json:"current"`
	Failed     string                   `json:"failed"`
	InProgress string                   `json:"inProgress"`
	Objects    []map[string]interface{} `json:"objects"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "flux-health: reading input:", err)
		os.Exit(2)
	}
	eval, err := cel.NewStatusEvaluator(&kustomize.HealthCheckExpressions{
		Current: in.Current, Failed: in.Failed, InProgress: in.InProgress,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "flux-health:", err)
		os.Exit(1)
	}
	for i, obj := range in.Objects {
		res, err := eval.Evaluate(context.Background(), &unstructured.Unstructured{Object: obj})
		if err != nil {
			fmt.Fprintf(os.Stderr, "flux-health: object %d: %v\n", i, err)
			os.Exit(1)
		}
		fmt.Println(res.Status)
	}
}
